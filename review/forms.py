"""Forms of the reviewer's pages. They parse what the reviewer typed; ``review.services``
and ``review.scoring`` decide whether it is acceptable."""

from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import AssignmentState, ReviewAssignment
from .scoring import plain


class AssignmentFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        label=_("State"),
        choices=AssignmentState.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    q = django_filters.CharFilter(
        label=_("Proposal"), method="filter_text", help_text=_("Number or words of the title.")
    )

    class Meta:
        model = ReviewAssignment
        fields = ["state"]

    def filter_text(self, queryset, name, value):
        from django.db.models import Q

        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(application__number__icontains=value)
            | Q(application__title__icontains=value)
            | Q(application__title_en__icontains=value)
        )


def score_field_name(code):
    return f"score_{code}"


class ReviewForm(forms.Form):
    """Built from the call's scheme: one field per criterion, recommendation, comments.

    Every field is optional here: a draft may be partial; submitting asks the service,
    which requires everything and puts its errors back on these fields.
    """

    recommendation = forms.ChoiceField(
        label=_("Recommendation"), required=False, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comments to the applicant"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("The applicant reads these after the decision, without your name."),
    )
    confidential_comment = forms.CharField(
        label=_("Comments to the funder only"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the commission's staff read these."),
    )

    def __init__(self, *args, scheme, language=None, **kwargs):
        self.scheme = scheme
        super().__init__(*args, **kwargs)
        fields = {}
        for c in scheme.criteria:
            label = c.label(language)
            help_parts = []
            if c.weight != 1:
                help_parts.append(str(_("weight %(w)s")) % {"w": plain(c.weight)})
            if c.threshold is not None:
                threshold = c.display(c.threshold)
                help_parts.append(str(_("threshold %(t)s")) % {"t": threshold})
            if c.is_letter_scale:
                field = forms.ChoiceField(
                    label=label,
                    required=False,
                    choices=[("", _("— not yet —"))]
                    + [(plain(v), c.display(v)) for v in c.values()],
                    widget=forms.RadioSelect,
                )
            else:
                field = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.NumberInput(
                        attrs={
                            "min": plain(c.min),
                            "max": plain(c.max),
                            "step": plain(c.step) if c.step else "any",
                            "inputmode": "decimal",
                        }
                    ),
                )
                scale = {"min": c.display(c.min), "max": c.display(c.max)}
                if c.step:
                    text = _("%(min)s to %(max)s, in steps of %(step)s")
                    scale["step"] = plain(c.step)
                else:
                    text = _("%(min)s to %(max)s")
                help_parts.insert(0, str(text) % scale)
            field.help_text = "; ".join(help_parts)
            fields[score_field_name(c.code)] = field
        # Scores first, then the recommendation and the comments.
        self.fields = {**fields, **self.fields}
        self.fields["recommendation"].choices = [
            (r.code, r.label(language)) for r in scheme.recommendations
        ]
        if not scheme.recommendations:
            del self.fields["recommendation"]

    @classmethod
    def initial_for(cls, review, scheme):
        if review is None:
            return {}
        initial = {
            "recommendation": review.recommendation,
            "comment": review.comment,
            "confidential_comment": review.confidential_comment,
        }
        for c in scheme.criteria:
            value = (review.scores or {}).get(c.code)
            if value is not None:
                initial[score_field_name(c.code)] = plain(Decimal(str(value)))
        return initial

    def score_fields(self):
        return [self[score_field_name(c.code)] for c in self.scheme.criteria]

    def other_fields(self):
        names = {score_field_name(c.code) for c in self.scheme.criteria}
        return [self[name] for name in self.fields if name not in names]

    def review_data(self):
        """Keyword arguments for ``services.review_save_draft`` / ``review_submit``."""
        data = self.cleaned_data
        scores = {}
        for c in self.scheme.criteria:
            value = (data.get(score_field_name(c.code)) or "").strip()
            if value:
                scores[c.code] = value
        return {
            "scores": scores,
            "recommendation": data.get("recommendation", ""),
            "comment": data.get("comment", ""),
            "confidential_comment": data.get("confidential_comment", ""),
        }

    def apply_errors(self, exc):
        """Put the service's ValidationError beside the fields it names."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for field, errors in exc.error_dict.items():
            for error in errors:
                target = None
                if field == "scores":
                    code = (error.params or {}).get("criterion")
                    name = score_field_name(code) if code else None
                    target = name if name in self.fields else None
                elif field in self.fields:
                    target = field
                self.add_error(target, ValidationError(error.messages))


class DeclineForm(forms.Form):
    comment = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ConflictForm(forms.Form):
    comment = forms.CharField(
        label=_("The conflict of interest"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Say what ties you to the applicant, the team or the proposal. You will not be "
            "asked to review this proposal again."
        ),
    )


class PledgeForm(forms.Form):
    agree = forms.BooleanField(
        label=_("I have read the integrity pledge and sign it for this call."),
        required=True,
        error_messages={"required": _("Tick the box to sign the pledge.")},
    )
