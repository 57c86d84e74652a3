"""Calls to staff, built with the factories (shared by the staffing tests)."""

import random
from datetime import timedelta

from django.utils import timezone

from accounts.models import ExpertProfile
from accounts.roles import Role
from grants.enums import ApplicationState
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    CreditRecordFactory,
    InstitutionFactory,
    UserFactory,
    applicant,
    set_state,
)

TOPICS = [
    (["量子材料", "拓扑相变"], ["quantum materials", "topological phase transition"]),
    (["深度学习", "图像识别"], ["deep learning", "image recognition"]),
    (["肿瘤免疫", "细胞治疗"], ["tumor immunology", "cell therapy"]),
    (["海洋生态", "珊瑚礁"], ["marine ecology", "coral reef"]),
    (["锂电池", "固态电解质"], ["lithium battery", "solid electrolyte"]),
    (["城市交通", "出行预测"], ["urban traffic", "travel demand prediction"]),
]


def reviewer(*, country="CN", topic=0, institution=None, **kw):
    user = UserFactory(
        roles=[Role.REVIEWER],
        country=country,
        institution=institution or InstitutionFactory(),
        **kw,
    )
    zh, en = TOPICS[topic % len(TOPICS)]
    ExpertProfile.objects.create(
        user=user, expertise=[] if country != "CN" else zh, expertise_en=en
    )
    return user


def proposal(call, *, topic=0, pi=None, state=ApplicationState.ACCEPTED, **kw):
    zh, en = TOPICS[topic % len(TOPICS)]
    app = ApplicationFactory(
        call=call,
        applicant=pi or applicant(),
        keywords=zh,
        keywords_en=en,
        title=f"{zh[0]}中的{zh[1]}研究",
        title_en=f"{en[1]} in {en[0]}",
        **kw,
    )
    set_state(app, state, number=f"BF-2027-{app.pk:06d}", submitted_at=timezone.now())
    return app


def make_call(*, apps=6, reviewers=12, seed=1, per_app=3, intl=1, load=3, intl_share=0.4):
    """A call with ``apps`` accepted proposals and a pool of ``reviewers`` (some abroad)."""
    rng = random.Random(seed)
    call = CallFactory(
        reviewers_per_application=per_app,
        min_international_reviewers=intl,
        max_assignments_per_reviewer=load,
        review_deadline=timezone.localdate() + timedelta(days=30),
    )
    pool = [
        reviewer(
            country="US" if rng.random() < intl_share else "CN",
            topic=rng.randrange(len(TOPICS)),
        )
        for _ in range(reviewers)
    ]
    proposals = [proposal(call, topic=rng.randrange(len(TOPICS))) for _ in range(apps)]
    return call, proposals, pool


def bar_from_reviewing(user):
    return CreditRecordFactory(subject_user=user, bars_apply=False, bars_review=True)
