from django.urls import include, path
from rest_framework.routers import DefaultRouter, SimpleRouter

from accounts import api as accounts_api
from finance import api_evaluation as finance_api_evaluation
from finance import api_money as finance_api_money
from finance import api_projects as finance_api_projects
from grants import api as grants_api
from integrity import api as integrity_api
from integrity import api_cases as integrity_api_cases
from programs import api as programs_api
from review import api_assignment as review_api_assignment
from review import api_ranking as review_api_ranking
from review import api_reviews

router = DefaultRouter()
router.register("institutions", accounts_api.InstitutionViewSet, basename="institution")
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("agencies", accounts_api.AgencyViewSet, basename="agency")
router.register("programs", programs_api.ProgramViewSet, basename="program")
router.register("calls", programs_api.CallViewSet, basename="call")
router.register("applications", grants_api.ApplicationViewSet, basename="application")
router.register("integrity/records", integrity_api.CreditRecordViewSet, basename="credit-record")

# --- integrity: misconduct cases (integrity/api_cases.py) ---

router.register(
    "integrity/cases", integrity_api_cases.MisconductCaseViewSet, basename="misconduct-case"
)

# Peer review (review/api_*.py) registers its routes below its heading.
review_urlpatterns = [
    # --- assignment: review/api_assignment.py ---
    path(
        "calls/<int:pk>/assign-reviewers/",
        review_api_assignment.AssignReviewersView.as_view(),
        name="call-assign-reviewers",
    ),
    # --- review assignments, reviews, scoring scheme: review/api_reviews.py ---
    path("", include(api_reviews.urlpatterns)),
    # --- ranking: review/api_ranking.py ---
    path(
        "calls/<int:pk>/ranking/", review_api_ranking.CallRankingView.as_view(), name="call-ranking"
    ),
    path(
        "applications/<int:pk>/reviews/",
        review_api_ranking.ApplicationReviewsView.as_view(),
        name="application-reviews",
    ),
    path(
        "reviews/<int:pk>/rating/",
        review_api_ranking.ReviewRatingView.as_view(),
        name="review-rating",
    ),
]

urlpatterns = [
    *review_urlpatterns,
    path("auth/token/", accounts_api.ObtainTokenView.as_view(), name="api-token"),
    path("integrity/check/", integrity_api.CheckView.as_view(), name="integrity-check"),
    path("", include(router.urls)),
]

# --- finance: evaluation and follow-on (finance/api_evaluation.py) ---

urlpatterns.insert(
    0,
    path(
        "projects/<int:pk>/evaluation/",
        finance_api_evaluation.ProjectEvaluationView.as_view(),
        name="project-evaluation",
    ),
)
urlpatterns.insert(
    0,
    path(
        "projects/<int:pk>/follow-on/",
        finance_api_evaluation.ProjectFollowOnView.as_view(),
        name="project-follow-on",
    ),
)

# --- finance: projects (finance/api_projects.py) ---

projects_router = DefaultRouter()
projects_router.include_root_view = False
projects_router.register("projects", finance_api_projects.ProjectViewSet, basename="project")
urlpatterns.insert(0, path("", include(projects_router.urls)))

# --- money ---


money_router = SimpleRouter()
money_router.register(
    "disbursements", finance_api_money.DisbursementViewSet, basename="disbursement"
)
urlpatterns.insert(0, path("", include(money_router.urls)))
urlpatterns.insert(
    0,
    path(
        "projects/<int:pk>/ledger/",
        finance_api_money.ProjectLedgerView.as_view(),
        name="project-ledger",
    ),
)
