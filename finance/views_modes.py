"""Pages of the other funding modes: institutional block grants, post-subsidies and
innovation vouchers (officers and agency staff of the program; applicants; the public list
of service providers). Hidden objects answer 404."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Institution
from audit.selectors import timeline
from audit.workflow import WorkflowError
from programs.models import FundingMode, Program
from programs.permissions import can_manage_program, managed_programs

from . import modes, vouchers
from .models import BlockGrant, PostSubsidy, Redemption, ServiceProvider, Voucher

MONEY_FIELD = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


def _errors_into(form, error):
    """A service's ValidationError or WorkflowError as the form's inline errors."""
    if isinstance(error, WorkflowError):
        form.add_error(None, error.detail)
    elif hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _managed_program(user, pk, mode):
    program = get_object_or_404(Program, pk=pk, funding_mode=mode)
    if not can_manage_program(user, program):
        raise Http404
    return program


# --- institutional block grants ---


class BlockGrantForm(forms.Form):
    institution = forms.ModelChoiceField(
        label=gettext_lazy("Institution"), queryset=Institution.objects.all()
    )
    amount = forms.DecimalField(label=gettext_lazy("Block grant this year"), **MONEY_FIELD)
    evaluation_score = forms.DecimalField(
        label=gettext_lazy("Evaluation score"), max_digits=6, decimal_places=2, required=False
    )


@login_required
def institutional(request, program_pk):
    program = _managed_program(request.user, program_pk, FundingMode.INSTITUTIONAL)
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    form = BlockGrantForm(request.POST if request.POST.get("action") == "set" else None)
    if request.method == "POST":
        if request.POST.get("action") == "grade":
            graded = modes.institutions_grade(program=program, year=year, actor=request.user)
            messages.success(request, _("%(n)s institutions graded.") % {"n": len(graded)})
            return redirect(f"{request.path}?year={year}")
        if form.is_valid():
            grant = modes.block_grant_set(
                program=program,
                institution=form.cleaned_data["institution"],
                year=year,
                amount=form.cleaned_data["amount"],
                actor=request.user,
            )
            if form.cleaned_data["evaluation_score"] is not None:
                modes.block_grant_score(
                    grant=grant, score=form.cleaned_data["evaluation_score"], actor=request.user
                )
            return redirect(f"{request.path}?year={year}")
    grants = BlockGrant.objects.filter(program=program, year=year).select_related("institution")
    rule = modes.institutional_rule(program)
    return render(
        request,
        "finance/modes_institutional.html",
        {
            "program": program,
            "year": year,
            "grants": grants,
            "form": form,
            "rule": rule,
            "quotas": modes.grade_quotas(
                sum(1 for g in grants if g.evaluation_score is not None), rule
            ),
        },
    )


# --- post-subsidies ---


class PostSubsidyForm(forms.Form):
    program = forms.ModelChoiceField(
        label=gettext_lazy("Program"),
        queryset=Program.objects.filter(funding_mode=FundingMode.POST_SUBSIDY),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=300)
    results = forms.CharField(label=gettext_lazy("Results achieved"), widget=forms.Textarea)
    amount_requested = forms.DecimalField(label=gettext_lazy("Amount requested"), **MONEY_FIELD)


class VerifyForm(forms.Form):
    verified = forms.TypedChoiceField(
        label=gettext_lazy("Results"),
        choices=[("1", gettext_lazy("verified")), ("0", gettext_lazy("not verified"))],
        coerce=lambda v: v == "1",
    )
    amount_granted = forms.DecimalField(
        label=gettext_lazy("Amount granted"), required=False, **MONEY_FIELD
    )
    verification_note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea
    )


def post_subsidies_visible_to(user):
    """Own applications, and those of the programs ``user`` manages."""
    return PostSubsidy.objects.filter(
        Q(applicant=user) | Q(program__in=managed_programs(user))
    ).select_related("program", "institution", "applicant")


@login_required
def post_subsidies(request):
    form = PostSubsidyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = modes.post_subsidy_apply(applicant=request.user, **form.cleaned_data)
        except (ValidationError, WorkflowError) as error:
            _errors_into(form, error)
        else:
            return redirect("finance:post_subsidy", pk=claim.pk)
    return render(
        request,
        "finance/modes_post_subsidies.html",
        {"form": form, "claims": post_subsidies_visible_to(request.user)},
    )


@login_required
def post_subsidy(request, pk):
    claim = get_object_or_404(post_subsidies_visible_to(request.user), pk=pk)
    manages = can_manage_program(request.user, claim.program_id)
    form = VerifyForm(request.POST if request.POST.get("action") == "verify" else None)
    if request.method == "POST":
        if not manages:
            raise Http404
        try:
            if request.POST.get("action") == "pay":
                try:
                    modes.post_subsidy_pay(claim=claim, officer=request.user)
                except WorkflowError as error:
                    messages.error(request, error.detail)
                else:
                    messages.success(request, _("Paid."))
                return redirect("finance:post_subsidy", pk=pk)
            if form.is_valid():
                modes.post_subsidy_verify(
                    claim=claim,
                    officer=request.user,
                    verified=form.cleaned_data["verified"],
                    amount_granted=form.cleaned_data["amount_granted"],
                    note=form.cleaned_data["verification_note"],
                )
                return redirect("finance:post_subsidy", pk=pk)
        except (ValidationError, WorkflowError) as error:
            _errors_into(form, error)
    return render(
        request,
        "finance/modes_post_subsidy.html",
        {"claim": claim, "manages": manages, "form": form, "entries": timeline(claim)},
    )


# --- innovation vouchers ---


class VoucherForm(forms.Form):
    program = forms.ModelChoiceField(
        label=gettext_lazy("Program"),
        queryset=Program.objects.filter(funding_mode=FundingMode.VOUCHER),
    )
    holder_kind = forms.ChoiceField(
        label=gettext_lazy("Holder"), choices=Voucher.HolderKind.choices
    )
    team_name = forms.CharField(label=gettext_lazy("Team name"), required=False, max_length=200)
    amount = forms.DecimalField(label=gettext_lazy("Amount"), **MONEY_FIELD)


class RedeemForm(forms.Form):
    voucher = forms.ModelChoiceField(label=gettext_lazy("Voucher"), queryset=Voucher.objects.none())
    provider = forms.ModelChoiceField(
        label=gettext_lazy("Service provider"),
        queryset=ServiceProvider.objects.filter(admitted_on__isnull=False),
    )
    contract_number = forms.CharField(label=gettext_lazy("Contract number"), max_length=64)
    contract_amount = forms.DecimalField(label=gettext_lazy("Contract amount"), **MONEY_FIELD)
    amount = forms.DecimalField(label=gettext_lazy("Amount to redeem"), **MONEY_FIELD)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voucher"].queryset = Voucher.objects.filter(applicant=user)


@login_required
def vouchers_mine(request):
    action = request.POST.get("action")
    form = VoucherForm(request.POST if action == "apply" else None)
    redeem = RedeemForm(request.POST if action == "redeem" else None, user=request.user)
    if request.method == "POST":
        target = form if action == "apply" else redeem
        if target.is_valid():
            try:
                if action == "apply":
                    vouchers.voucher_issue(applicant=request.user, **form.cleaned_data)
                else:
                    vouchers.voucher_redeem(actor=request.user, **redeem.cleaned_data)
            except (ValidationError, WorkflowError) as error:
                _errors_into(target, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("finance:vouchers")
    rows = Voucher.objects.filter(applicant=request.user).select_related("program", "enterprise")
    redemptions = Redemption.objects.filter(voucher__applicant=request.user).select_related(
        "provider", "payout"
    )
    return render(
        request,
        "finance/voucher_mine.html",
        {
            "form": form,
            "redeem": redeem,
            "vouchers": rows,
            "redemptions": redemptions,
            "limits": vouchers.limits(),
        },
    )


def providers_public(request):
    """The public list: providers being posted (with the end of their posting) and admitted."""
    rows = vouchers.posted_providers()
    return render(
        request,
        "finance/voucher_providers.html",
        {"providers": rows, "posting_days": vouchers.limits()["posting_days"]},
    )


class ProviderForm(forms.ModelForm):
    class Meta:
        model = ServiceProvider
        fields = ["name", "credit_code", "institution", "services", "operating_since"]
        widgets = {"operating_since": forms.DateInput(attrs={"type": "date"})}


def _require_voucher_manager(user):
    if not managed_programs(user).filter(funding_mode=FundingMode.VOUCHER).exists():
        raise Http404


@login_required
def providers_manage(request):
    _require_voucher_manager(request.user)
    form = ProviderForm(request.POST if request.POST.get("action") == "register" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "register" and form.is_valid():
                vouchers.provider_register(actor=request.user, **form.cleaned_data)
                return redirect("finance:providers_manage")
            if action in ("post", "admit"):
                provider = get_object_or_404(ServiceProvider, pk=request.POST.get("provider"))
                if action == "post":
                    vouchers.provider_post(provider=provider, actor=request.user)
                else:
                    vouchers.provider_admit(provider=provider, actor=request.user)
                return redirect("finance:providers_manage")
        except (ValidationError, WorkflowError) as error:
            if action == "register":
                _errors_into(form, error)
            else:
                messages.error(
                    request,
                    " ".join(
                        str(m)
                        for m in getattr(error, "messages", [getattr(error, "detail", error)])
                    ),
                )
    return render(
        request,
        "finance/voucher_providers_manage.html",
        {"form": form, "providers": ServiceProvider.objects.select_related("institution")},
    )


@login_required
@require_POST
def voucher_payout(request):
    _require_voucher_manager(request.user)
    try:
        payout = vouchers.quarterly_payout(
            year=int(request.POST["year"]), quarter=int(request.POST["quarter"]), actor=request.user
        )
    except (KeyError, ValueError) as error:
        raise Http404 from error
    except (ValidationError, WorkflowError) as error:
        messages.error(request, str(getattr(error, "detail", error)))
    else:
        messages.success(request, _("Paid %(total)s.") % {"total": payout.total})
    return redirect("finance:providers_manage")
