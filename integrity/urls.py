from django.urls import path

from . import views

app_name = "integrity"
urlpatterns = [
    path("records/", views.record_list, name="record_list"),
    path("records/new/", views.record_create, name="record_create"),
    path("records/<int:pk>/", views.record_detail, name="record_detail"),
    path("records/<int:pk>/correct/", views.record_correct, name="record_correct"),
]

# --- credit and gates ---
from . import views_credit  # noqa: E402

urlpatterns += [
    path("affected/", views_credit.affected, name="affected"),
    path("credit/", views_credit.credit_list, name="credit_list"),
    path("credit/<slug:kind>/", views_credit.credit_list, name="credit_list_kind"),
    path("credit/<slug:kind>/<int:pk>/", views_credit.credit_detail, name="credit_detail"),
]
