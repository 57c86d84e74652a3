"""The expert pool pages: who sees them (404 for the rest), filters, sorting and fixed
queries, profile and affiliation edits with inline errors, barred people refused, manual
and CSV collaborations (dry run, only valid rows, idempotent), links between review pages."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ExpertProfile, User
from accounts.roles import Role
from review import pool
from review.credit import credit_for
from review.models import Affiliation, Collaboration, ReviewRating
from tests import factories as f

pytestmark = pytest.mark.django_db

VALID_ORCID = "0000-0002-1825-0097"
OTHER_ORCID = "0000-0001-5109-3700"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def expert(**kw):
    profile = {
        k: kw.pop(k) for k in ("expertise", "expertise_en", "languages", "expert_type") if k in kw
    }
    user = f.reviewer(**kw)
    ExpertProfile.objects.update_or_create(user=user, defaults=profile)
    return user


def bar(user):
    return f.CreditRecordFactory(subject_user=user, bars_apply=False, bars_review=True)


def names_in(response):
    return response.content.decode()


# --- who may see the pool ---------------------------------------------------------------------


def test_officers_edit_auditors_read_others_get_404(login):
    e = expert(full_name="Pool Member")
    boss, reader = f.officer(), f.auditor()
    agency = f.AgencyFactory()
    list_url = reverse("review:pool")
    detail_url = reverse("review:pool_detail", args=[e.pk])
    edit_urls = [
        reverse("review:pool_edit", args=[e.pk]),
        reverse("review:pool_create"),
        reverse("review:pool_add"),
        reverse("review:pool_import"),
    ]
    officer_client = login(boss)
    for url in [list_url, detail_url, *edit_urls]:
        assert officer_client.get(url).status_code == 200, url
    auditor_client = login(reader)
    page = auditor_client.get(list_url)
    assert page.status_code == 200 and "Pool Member" in names_in(page)
    assert reverse("review:pool_create") not in names_in(page)
    assert auditor_client.get(detail_url).status_code == 200
    for url in edit_urls:
        assert auditor_client.get(url).status_code == 404, url
    response = auditor_client.post(
        reverse("review:pool_collaboration_add", args=[e.pk]),
        {"partner": boss.username, "kind": "paper", "on": "2024-01-01"},
    )
    assert response.status_code == 404 and not Collaboration.objects.exists()
    outsiders = [
        f.applicant(),
        e,
        f.agency_staff(agency),
        f.integrity_officer(),
        f.institution_admin(f.InstitutionFactory()),
    ]
    for outsider in outsiders:
        client = login(outsider)
        assert client.get(list_url).status_code == 404
        assert client.get(detail_url).status_code == 404
    # Someone outside the pool has no page.
    other = f.applicant()
    assert officer_client.get(reverse("review:pool_detail", args=[other.pk])).status_code == 404


def test_nav_link_for_officers_and_auditors_only(login):
    link = f'href="{reverse("review:pool")}"'
    assert link in names_in(login(f.officer()).get(reverse("dashboard")))
    assert link in names_in(login(f.auditor()).get(reverse("dashboard")))
    assert link not in names_in(login(f.applicant()).get(reverse("dashboard")))
    assert link not in names_in(login(f.reviewer()).get(reverse("dashboard")))


# --- filters, sorting, queries ----------------------------------------------------------------


def test_filters(login):
    boss = f.officer()
    domestic = expert(
        full_name="Alpha Domestic",
        country="CN",
        expertise=["量子材料", "拓扑相变"],
        expertise_en=["quantum materials"],
        languages=["zh"],
        expert_type="scientific",
        orcid=VALID_ORCID,
    )
    abroad = expert(
        full_name="Beta Abroad",
        country="DE",
        expertise=[],
        expertise_en=["Machine Learning", "graph theory"],
        languages=["en", "de"],
        expert_type="strategic",
    )
    auditor_type = expert(
        full_name="Gamma Auditor",
        country="CN",
        expertise=["财务审计"],
        languages=["zh", "en"],
        expert_type="financial",
    )
    barred = expert(full_name="Delta Barred", country="US", languages=["en"])
    bar(barred)
    client = login(boss)

    def shown(**params):
        page = names_in(client.get(reverse("review:pool"), params))
        return {
            u.full_name for u in (domestic, abroad, auditor_type, barred) if u.full_name in page
        }

    everyone = {"Alpha Domestic", "Beta Abroad", "Gamma Auditor", "Delta Barred"}
    assert shown() == everyone
    assert shown(scope="domestic") == {"Alpha Domestic", "Gamma Auditor"}
    assert shown(scope="international") == {"Beta Abroad", "Delta Barred"}
    assert shown(country="DE") == {"Beta Abroad"}
    assert shown(expert_type="financial") == {"Gamma Auditor"}
    assert shown(language="en") == {"Beta Abroad", "Gamma Auditor", "Delta Barred"}
    assert shown(language="de") == {"Beta Abroad"}
    assert shown(keyword="量子") == {"Alpha Domestic"}
    assert shown(keyword="审计") == {"Gamma Auditor"}
    assert shown(keyword="machine learn") == {"Beta Abroad"}
    assert shown(keyword="QUANTUM") == {"Alpha Domestic"}
    assert shown(barred="yes") == {"Delta Barred"}
    assert shown(barred="no") == everyone - {"Delta Barred"}
    assert shown(q="beta") == {"Beta Abroad"}
    assert shown(q=f"https://orcid.org/{VALID_ORCID}") == {"Alpha Domestic"}
    assert shown(q=VALID_ORCID.replace("-", "")) == {"Alpha Domestic"}
    assert shown(scope="international", language="en", barred="no") == {"Beta Abroad"}
    # The barred expert's row says so.
    page = names_in(client.get(reverse("review:pool"), {"barred": "yes"}))
    assert "barred from reviewing" in page


def _reviews(reviewer, n, *, flagged=False, rating=None):
    for _i in range(n):
        review = f.ReviewFactory(
            assignment=f.ReviewAssignmentFactory(reviewer=reviewer),
            flagged_by_officer="late and careless" if flagged else "",
        )
        if rating is not None:
            ReviewRating.objects.create(review=review, rating=rating)


def test_credit_band_filter_and_credit_inputs(login):
    fresh = expert(full_name="Fresh Expert")
    good = expert(full_name="Good Expert")
    _reviews(good, 2, rating=4)
    medium = expert(full_name="Medium Expert")
    _reviews(medium, 3, flagged=True)  # 1 − 0.4·3/5 = 0.76
    low = expert(full_name="Low Expert")
    _reviews(low, 4, flagged=True, rating=1)  # 1 − 0.4·2/3 − 0.4·4/6 ≈ 0.47
    credits = credit_for([fresh, good, medium, low])
    assert pool.credit_band(credits[medium.pk]) == "medium"
    assert pool.credit_band(credits[low.pk]) == "low"
    client = login(f.officer())

    def shown(band):
        page = names_in(client.get(reverse("review:pool"), {"credit": band}))
        return {u.full_name for u in (fresh, good, medium, low) if u.full_name in page}

    assert shown("high") == {"Fresh Expert", "Good Expert"}
    assert shown("medium") == {"Medium Expert"}
    assert shown("low") == {"Low Expert"}
    # The detail page gives the credit with what it is made of, as the engine computes it.
    credit = pool.credit_of(low)
    assert credit.value == pytest.approx(credits[low.pk])
    assert (credit.submitted, credit.flagged, credit.rating_count, credit.rating_sum) == (
        4,
        4,
        4,
        4,
    )
    page = names_in(client.get(reverse("review:pool_detail", args=[low.pk])))
    assert f"{credits[low.pk]:.2f}" in page and "4 ratings, mean 1.00 of 4" in page


def test_sorting(login):
    expert(full_name="Zed Last", country="CN")
    expert(full_name="Abe First", country="US")
    client = login(f.officer())
    page = names_in(client.get(reverse("review:pool"), {"sort": "name"}))
    assert page.index("Abe First") < page.index("Zed Last")
    page = names_in(client.get(reverse("review:pool"), {"sort": "-name"}))
    assert page.index("Zed Last") < page.index("Abe First")


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_list_queries_do_not_grow_with_rows(login):
    client = login(f.officer())
    url = reverse("review:pool") + "?per_page=50"
    first = expert(expertise=["量子"], expertise_en=["quantum"], languages=["zh"])
    _reviews(first, 1, rating=3)
    bar(first)
    one, _response = _count_queries(client, url)
    for i in range(29):
        e = expert(expertise=[f"关键词{i}"], languages=["en"], country="DE" if i % 2 else "CN")
        if i % 5 == 0:
            _reviews(e, 1, flagged=True)
            bar(e)
    thirty, response = _count_queries(client, url)
    assert one == thirty
    assert response.content.decode().count('href="/review/pool/') >= 30


# --- creating, adding, editing ----------------------------------------------------------------


def test_officer_creates_an_expert(login):
    boss = f.officer()
    institution = f.InstitutionFactory()
    response = login(boss).post(
        reverse("review:pool_create"),
        {
            "username": "new_expert",
            "full_name": "New Expert",
            "email": "new@example.org",
            "country": "GB",
            "language": "en",
            "institution": institution.pk,
            "orcid": VALID_ORCID.replace("-", ""),
            "expertise": "量子计算，拓扑\n超导",
            "expertise_en": "quantum computing; topology",
            "languages": ["en", "zh"],
            "expert_type": "strategic",
        },
    )
    user = User.objects.get(username="new_expert")
    assert response.status_code == 302
    assert response["Location"] == reverse("review:pool_detail", args=[user.pk])
    assert user.has_role(Role.REVIEWER)
    assert (str(user.country), user.orcid, user.institution) == ("GB", VALID_ORCID, institution)
    profile = user.expert_profile
    assert profile.expertise == ["量子计算", "拓扑", "超导"]
    assert profile.expertise_en == ["quantum computing", "topology"]
    assert (profile.languages, profile.expert_type) == (["en", "zh"], "strategic")


def test_create_errors_inline_and_nothing_typed_is_lost(login):
    response = login(f.officer()).post(
        reverse("review:pool_create"),
        {
            "username": "typed_name",
            "full_name": "Typed Full Name",
            "country": "CN",
            "language": "zh-hans",
            "orcid": "0000-0002-1825-0098",
            "expertise": "光学，激光",
            "expert_type": "scientific",
        },
    )
    page = names_in(response)
    assert response.status_code == 200
    assert "Enter a valid ORCID iD" in page
    assert 'value="typed_name"' in page and 'value="Typed Full Name"' in page
    assert "光学，激光" in page  # as typed
    assert not User.objects.filter(username="typed_name").exists()


def test_new_account_cannot_reuse_a_barred_persons_orcid(login):
    barred = f.applicant(orcid=VALID_ORCID)
    record = bar(barred)
    response = login(f.officer()).post(
        reverse("review:pool_create"),
        {
            "username": "second_identity",
            "country": "CN",
            "language": "zh-hans",
            "orcid": VALID_ORCID,
            "expert_type": "scientific",
        },
    )
    page = names_in(response)
    assert response.status_code == 200
    assert "barred from reviewing" in page and f"record {record.pk}" in page
    assert not User.objects.filter(username="second_identity").exists()


def test_add_existing_account_and_barred_person_is_refused(login):
    boss = f.officer()
    client = login(boss)
    scientist = f.applicant(orcid=OTHER_ORCID, full_name="Existing Scientist")
    response = client.post(reverse("review:pool_add"), {"person": OTHER_ORCID})
    scientist = User.objects.get(pk=scientist.pk)
    assert response.status_code == 302
    assert scientist.has_role(Role.REVIEWER) and scientist.has_role(Role.APPLICANT)
    assert ExpertProfile.objects.filter(user=scientist).exists()

    cheat = f.applicant(username="cheat")
    record = bar(cheat)
    response = client.post(reverse("review:pool_add"), {"person": "cheat"})
    page = names_in(response)
    assert response.status_code == 200
    assert "cannot enter the expert pool" in page
    assert f"record {record.pk}" in page and "review proposals" in page
    cheat = User.objects.get(pk=cheat.pk)
    assert not cheat.has_role(Role.REVIEWER)

    response = client.post(reverse("review:pool_add"), {"person": "nobody-here"})
    assert "No account has the username" in names_in(response)
    # Already in the pool.
    response = client.post(reverse("review:pool_add"), {"person": scientist.username})
    assert "already in the expert pool" in names_in(response)


def test_add_service_refuses_barred_and_non_officers():
    person = f.applicant()
    bar(person)
    with pytest.raises(pool.ValidationError) as exc:
        pool.expert_add(user=person, added_by=f.officer())
    assert {e.code for e in exc.value.error_list} == {"barred"}
    with pytest.raises(pool.PermissionDenied):
        pool.expert_add(user=f.applicant(), added_by=f.auditor())


def test_detail_shows_integrity_assignments_pledges(login):
    e = expert(full_name="Shown Expert", expertise=["材料"], expertise_en=["materials"])
    record = bar(e)
    assignment = f.ReviewAssignmentFactory(reviewer=e, state="accepted")
    from review.models import IntegrityPledge

    IntegrityPledge.objects.create(reviewer=e, call=assignment.application.call)
    page = names_in(login(f.auditor()).get(reverse("review:pool_detail", args=[e.pk])))
    assert "Barred from reviewing" in page and f"record {record.pk}" in page
    assert assignment.application.title in page and "Accepted" in page
    assert assignment.application.call.title in page and "signed" in page
    assert "材料" in page and "materials" in page
    assert reverse("review:pool_edit", args=[e.pk]) not in page  # auditors read only


def _edit_data(e, **overrides):
    data = {
        "full_name": e.full_name,
        "email": e.email,
        "country": str(e.country),
        "language": e.language,
        "institution": e.institution_id or "",
        "orcid": e.orcid,
        "expertise": "量子",
        "expertise_en": "quantum",
        "languages": ["zh"],
        "expert_type": "scientific",
        "affiliations-TOTAL_FORMS": "0",
        "affiliations-INITIAL_FORMS": "0",
        "affiliations-MIN_NUM_FORMS": "0",
        "affiliations-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_edit_profile_and_affiliations(login):
    e = expert(full_name="Edited Expert")
    old_place, new_place = f.InstitutionFactory(), f.InstitutionFactory()
    stale = Affiliation.objects.create(
        user=e, institution=old_place, started_on=date(2015, 1, 1), ended_on=date(2019, 1, 1)
    )
    kept = Affiliation.objects.create(user=e, institution_name="MIT", started_on=date(2010, 1, 1))
    client = login(f.officer())
    data = _edit_data(
        e,
        full_name="Renamed Expert",
        country="FR",
        orcid=VALID_ORCID,
        expertise="材料、化学",
        expertise_en="materials, chemistry",
        languages=["en", "fr"],
        expert_type="financial",
        **{
            "affiliations-TOTAL_FORMS": "3",
            "affiliations-INITIAL_FORMS": "2",
            "affiliations-0-id": stale.pk,
            "affiliations-0-institution": old_place.pk,
            "affiliations-0-started_on": "2015-01-01",
            "affiliations-0-ended_on": "2019-01-01",
            "affiliations-0-DELETE": "on",
            "affiliations-1-id": kept.pk,
            "affiliations-1-institution_name": "Massachusetts Institute of Technology",
            "affiliations-1-started_on": "2010-01-01",
            "affiliations-1-ended_on": "2020-06-30",
            "affiliations-2-institution": new_place.pk,
            "affiliations-2-started_on": "2020-07-01",
        },
    )
    response = client.post(reverse("review:pool_edit", args=[e.pk]), data)
    assert response.status_code == 302
    e = User.objects.get(pk=e.pk)
    assert (e.full_name, str(e.country), e.orcid) == ("Renamed Expert", "FR", VALID_ORCID)
    assert e.expert_profile.expertise == ["材料", "化学"]
    assert e.expert_profile.languages == ["en", "fr"]
    assert e.expert_profile.expert_type == "financial"
    rows = {
        (a.institution_id, a.institution_name, a.started_on, a.ended_on)
        for a in Affiliation.objects.filter(user=e)
    }
    assert rows == {
        (None, "Massachusetts Institute of Technology", date(2010, 1, 1), date(2020, 6, 30)),
        (new_place.pk, "", date(2020, 7, 1), None),
    }


def test_edit_errors_inline_and_nothing_saved(login):
    e = expert(full_name="Stays Put")
    place = f.InstitutionFactory()
    client = login(f.officer())
    data = _edit_data(
        e,
        full_name="Typed But Invalid",
        orcid="1234",
        expertise="保留的关键词",
        **{
            "affiliations-TOTAL_FORMS": "2",
            "affiliations-0-institution": place.pk,
            "affiliations-0-institution_name": "Also A Name",
            "affiliations-0-started_on": "2020-01-01",
            "affiliations-1-institution_name": "Backwards Institute",
            "affiliations-1-started_on": "2021-01-01",
            "affiliations-1-ended_on": "2020-01-01",
        },
    )
    response = client.post(reverse("review:pool_edit", args=[e.pk]), data)
    page = names_in(response)
    assert response.status_code == 200
    assert "Enter a valid ORCID iD" in page
    assert 'value="Typed But Invalid"' in page and "保留的关键词" in page
    assert 'value="Backwards Institute"' in page
    assert User.objects.get(pk=e.pk).full_name == "Stays Put"
    assert not Affiliation.objects.exists()
    # With the ORCID fixed, the service finds the affiliation rows' errors, each on its row.
    data["orcid"] = ""
    response = client.post(reverse("review:pool_edit", args=[e.pk]), data)
    page = names_in(response)
    assert response.status_code == 200
    assert "not both" in page and "cannot end before it starts" in page
    assert 'value="Typed But Invalid"' in page
    assert User.objects.get(pk=e.pk).full_name == "Stays Put"
    assert not Affiliation.objects.exists()


# --- collaborations ---------------------------------------------------------------------------


def test_record_and_remove_a_collaboration(login):
    e = expert()
    partner = f.applicant(email="partner@example.org")
    client = login(f.officer())
    url = reverse("review:pool_collaboration_add", args=[e.pk])
    data = {
        "partner": "partner@example.org",
        "kind": "paper",
        "on": "2024-03-01",
        "title": "Joint paper",
        "source": "Web of Science",
    }
    assert client.post(url, data).status_code == 302
    c = Collaboration.objects.get()
    assert (c.person, c.partner, c.kind, c.on) == (e, partner, "paper", date(2024, 3, 1))
    again = client.post(url, data)
    assert again.status_code == 400 and "already recorded" in names_in(again)
    selfie = client.post(url, {**data, "partner": e.username, "title": "x"})
    assert "themselves" in names_in(selfie)
    future = (date.today() + timedelta(days=30)).isoformat()
    later = client.post(url, {**data, "on": future, "title": "y"})
    assert "future" in names_in(later) and 'value="y"' in names_in(later)
    assert Collaboration.objects.count() == 1
    # The detail page lists it; removal takes it away.
    page = names_in(client.get(reverse("review:pool_detail", args=[e.pk])))
    assert "Joint paper" in page and "Web of Science" in page
    client.post(reverse("review:pool_collaboration_delete", args=[e.pk, c.pk]))
    assert not Collaboration.objects.exists()


CSV_HEADER = "person,partner,kind,date,title,source\n"


def _import(client, text, action="preview"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    if action == "confirm":
        return client.post(reverse("review:pool_import"), {"action": "confirm", "data": text})
    upload = SimpleUploadedFile("c.csv", text.encode("utf-8"), content_type="text/csv")
    return client.post(reverse("review:pool_import"), {"action": "preview", "file": upload})


def test_csv_import_dry_run_confirm_and_idempotent(login):
    a = expert(username="expert_a")
    b = f.applicant(username="pi_b", email="PI.B@example.org")
    c = f.applicant(username="pi_c", orcid=VALID_ORCID)
    Collaboration.objects.create(
        person=b, partner=a, kind="project", on=date(2023, 5, 1), title="Old"
    )
    text = CSV_HEADER + (
        "expert_a,pi.b@example.org,paper,2024-01-15,Paper one,WoS\n"  # line 2: new (email)
        f"expert_a,{VALID_ORCID},patent,2022-02-02,Patent,CNIPA\n"  # line 3: new (ORCID)
        "expert_a,pi_b,project,2023-05-01,Old,\n"  # line 4: already recorded (reversed)
        "expert_a,ghost,paper,2024-01-15,Ghost,\n"  # line 5: unknown partner
        "expert_a,pi_b,book,2024-01-15,Bad kind,\n"  # line 6: bad kind
        "expert_a,pi_b,award,15/01/2024,Bad date,\n"  # line 7: bad date
        "expert_a,expert_a,award,2024-01-15,Self,\n"  # line 8: same person
        "pi.b@example.org,expert_a,paper,2024-01-15,paper one,\n"  # line 9: repeat of line 2
    )
    client = login(f.officer())
    response = _import(client, text)
    page = names_in(response)
    assert response.status_code == 200
    assert Collaboration.objects.count() == 1  # a dry run writes nothing
    assert "2 new, 2 already recorded, 4 with errors." in page
    assert "no account has the username, e-mail or ORCID iD “ghost”" in page
    assert "“book” is not one of" in page
    assert "“15/01/2024” is not a date YYYY-MM-DD" in page
    assert "person and partner are the same account" in page
    assert 'name="data"' in page and "Write 2 new collaborations" in page

    response = _import(client, text, action="confirm")
    assert response.status_code == 200
    written = {
        (x.person_id, x.partner_id, x.kind, x.on, x.title, x.source)
        for x in Collaboration.objects.exclude(title="Old")
    }
    assert written == {
        (a.pk, b.pk, "paper", date(2024, 1, 15), "Paper one", "WoS"),
        (a.pk, c.pk, "patent", date(2022, 2, 2), "Patent", "CNIPA"),
    }
    assert "2 written, 2 already recorded, 4 with errors (left out)." in names_in(response)

    # The same file again: nothing new.
    again = _import(client, text, action="confirm")
    assert Collaboration.objects.count() == 3
    assert "0 written, 4 already recorded, 4 with errors (left out)." in names_in(again)


def test_csv_file_level_errors(login):
    client = login(f.officer())
    response = _import(client, "person,partner,title\nx,y,z\n")
    assert "lacks the columns kind, date" in names_in(response)
    response = _import(client, CSV_HEADER)
    assert "The file has no rows." in names_in(response)
    response = client.post(reverse("review:pool_import"), {"action": "preview"})
    assert "Choose a CSV file." in names_in(response)
    assert not Collaboration.objects.exists()


def test_csv_import_service_with_bom_and_ambiguous_email():
    boss = f.officer()
    expert(username="x1")
    f.applicant(username="twin1", email="same@example.org")
    f.applicant(username="twin2", email="same@example.org")
    f.applicant(username="y1")
    text = (
        "\ufeff" + CSV_HEADER + "x1,same@example.org,paper,2024-01-01,,\nx1,y1,award,2024-01-01,,\n"
    )
    report = pool.collaborations_import(by=boss, text=text, commit=True)
    assert (report.written, report.errors) == (1, 1)
    assert "names 2 accounts" in report.rows[0].errors[0]
    with pytest.raises(pool.PermissionDenied):
        pool.collaborations_import(by=f.auditor(), text=text)


# --- links between review pages ---------------------------------------------------------------


def test_links_between_call_staffing_and_board_for_managers_only(login):
    agency = f.AgencyFactory()
    call = f.CallFactory(program=f.ProgramFactory(agency=agency))
    staffing = reverse("review:staffing", args=[call.pk])
    board = reverse("review:board", args=[call.pk])
    detail = reverse("programs:call_detail", args=[call.pk])
    for manager in (f.officer(), f.agency_staff(agency)):
        client = login(manager)
        page = names_in(client.get(detail))
        assert f'href="{staffing}"' in page and f'href="{board}"' in page
        assert f'href="{board}"' in names_in(client.get(staffing))
        assert f'href="{staffing}"' in names_in(client.get(board))
    reader = login(f.auditor())
    response = reader.get(detail)
    assert response.status_code == 200
    assert staffing not in names_in(response) and board not in names_in(response)
