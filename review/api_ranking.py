"""API v1: a call's ranking (officers, delegated agency staff), the PI's reviews of a decided
proposal (anonymised) and the PI's rating of a review.

Approve, reject, award and revoke run through ``/api/v1/applications/<id>/transitions/<name>/``
(``grants.services.application_transition``); award answers ``409 notice_open`` there.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from grants.models import Application
from programs.models import Call
from programs.permissions import can_manage_program

from . import decisions
from .models import Review
from .ranking import call_ranking


class RankingRowSerializer(serializers.Serializer):
    application = serializers.IntegerField(source="pk")
    number = serializers.CharField()
    title = serializers.CharField()
    score = serializers.DecimalField(
        max_digits=8, decimal_places=3, allow_null=True, help_text=_("Mean weighted score.")
    )
    reviews = serializers.IntegerField(help_text=_("Submitted reviews."))
    rank = serializers.IntegerField(
        allow_null=True, help_text=_("1 is best; null without a submitted review.")
    )
    spread = serializers.DecimalField(max_digits=8, decimal_places=3, allow_null=True)
    divergent = serializers.BooleanField()
    fund_share = serializers.DecimalField(max_digits=4, decimal_places=3, allow_null=True)
    budget = serializers.DecimalField(max_digits=16, decimal_places=2)
    cumulative = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    above_line = serializers.BooleanField(
        allow_null=True, help_text=_("Within the call's budget; null when it has none.")
    )
    state = serializers.CharField(source="application.state")


class CallRankingView(APIView):
    """The call's proposals under review, best first, with the funding line."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["review"],
        summary=_("Ranking of a call"),
        responses={
            200: RankingRowSerializer(many=True),
            404: OpenApiResponse(description=_("No such call, or not one the caller manages.")),
        },
    )
    def get(self, request, pk):
        call = Call.objects.select_related("program").filter(pk=pk).first()
        if call is None or not can_manage_program(request.user, call.program_id):
            raise Http404
        ranking = call_ranking(call)
        return Response(RankingRowSerializer(ranking.rows, many=True).data)


class ApplicantReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("Use it to rate the review."))
    label = serializers.CharField()
    scores = serializers.SerializerMethodField()
    total = serializers.DecimalField(max_digits=8, decimal_places=3, allow_null=True)
    recommendation = serializers.CharField()
    comment = serializers.CharField()
    rating = serializers.IntegerField(allow_null=True)

    def get_scores(self, obj) -> dict:
        return dict(obj.scores)


class ApplicationReviewsView(APIView):
    """The reviews of the caller's decided proposal, anonymised (PI only)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["review"],
        summary=_("Reviews of my decided proposal"),
        responses={200: ApplicantReviewSerializer(many=True), 404: OpenApiResponse()},
    )
    def get(self, request, pk):
        application = Application.objects.select_related("call__program").filter(pk=pk).first()
        if application is None or not decisions.can_rate(application, request.user):
            raise Http404
        reviews = decisions.anonymised_reviews(application, language=get_language())
        return Response(ApplicantReviewSerializer(reviews, many=True).data)


class RatingSerializer(serializers.Serializer):
    rating = serializers.IntegerField(help_text=_("1 (poor) to 4 (excellent)."))


class ReviewRatingView(APIView):
    """The PI rates one review of their decided proposal, 1–4, once."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["review"],
        summary=_("Rate a review of my proposal"),
        request=RatingSerializer,
        responses={
            201: RatingSerializer,
            400: OpenApiResponse(description=_("Rating outside 1–4.")),
            404: OpenApiResponse(description=_("No such review of the caller's proposal.")),
            409: OpenApiResponse(
                description=_("invalid_transition: not decided yet, or already rated.")
            ),
        },
    )
    def post(self, request, pk):
        review = (
            Review.objects.select_related("assignment__application")
            .filter(pk=pk, assignment__application__applicant_id=request.user.pk)
            .first()
        )
        if review is None:
            raise Http404
        body = RatingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            rating = decisions.review_rate(
                review=review, user=request.user, rating=body.validated_data["rating"]
            )
        except PermissionDenied:
            raise Http404 from None
        return Response({"review": review.pk, "rating": rating.rating}, status=201)
