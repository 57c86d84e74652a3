from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


def home(request):
    return redirect("dashboard" if request.user.is_authenticated else "accounts:login")


@login_required
def dashboard(request):
    from django.http import HttpResponse

    return HttpResponse("dashboard")
