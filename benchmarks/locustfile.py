"""Load clients of the deadline-day run (benchmarks/deadline.py starts locust headless with
this file; it is not meant to be run by hand).

Environment: ``LOAD_PLAN`` the JSON plan (sessions and targets, benchmarks/deadline_data.py),
``LOAD_LOG`` where every request is written (one JSON line each), ``LOAD_SPREAD`` seconds
over which the applicants' submissions are spread (0: all at once, the deadline rush),
``LOAD_RETRIES`` how often an applicant tries again after a server error (default 3).

- Applicants (one user each): open their draft, submit it through the site's form, read the
  result. A submission that meets a server error or a dropped connection is tried again
  from the page, as a person would.
- Officers: the formal-check queue, then a proposal from it, every 2–6 s.
- Reviewers: for each accepted assignment, the assignment page, the review form, submit;
  one every 5–15 s.
When every applicant is done the run stops.
"""

import itertools
import json
import os
import random
import re
import time

import gevent
from locust import HttpUser, between, constant, events, task
from locust.exception import StopUser
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())  # noqa: SIM115
SPREAD = float(os.environ.get("LOAD_SPREAD", "0"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RETRIES = int(os.environ.get("LOAD_RETRIES", "3"))

_applicants = iter(enumerate(PLAN["applicants"]))
_officers = itertools.cycle(PLAN["officers"])
_reviewers = iter(PLAN["reviewers"])
_done = {"applicants": 0}
_log = open(os.environ["LOAD_LOG"], "a", encoding="utf-8")  # noqa: SIM115


@events.request.add_listener
def _record(request_type, name, response_time, response, exception, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    _log.write(
        json.dumps(
            {
                "t": time.time(),
                "name": name,
                "method": request_type,
                "status": status,
                "ms": round(response_time, 2),
                "error": str(exception)[:200] if exception and not status else "",
            }
        )
        + "\n"
    )


@events.test_stop.add_listener
def _close(**kwargs):
    _log.flush()


class Signed(HttpUser):
    abstract = True

    def sign_in(self, session):
        self.client.cookies.set(PLAN["cookie"], session)
        # A kept-alive connection the server closes just as a GET reuses it is opened again,
        # as browsers do; a POST is never sent twice, and an answer (a 503 with Retry-After
        # included) is never retried here.
        retry = Retry(
            total=1, connect=1, read=1, status=0, allowed_methods={"GET"},
            respect_retry_after_header=False, raise_on_status=False,
        )  # fmt: skip
        self.client.mount("http://", HTTPAdapter(max_retries=retry))

    def csrf(self, response):
        match = CSRF.search(response.text or "")
        return match.group(1) if match else ""

    def post_form(self, url, data, *, name, referer):
        """POST ``data`` with the page's CSRF token; ``None`` on a server error or a dropped
        connection (the caller tries again), else the response."""
        with self.client.post(
            url, data=data, name=name, allow_redirects=False,
            headers={"Referer": self.host + referer}, catch_response=True,
        ) as response:  # fmt: skip
            if 0 < response.status_code < 500:
                response.success()
                return response
            response.failure(f"HTTP {response.status_code}")
        return None


class Applicant(Signed):
    fixed_count = len(PLAN["applicants"])
    wait_time = constant(0)

    def on_start(self):
        self.index, self.me = next(_applicants)
        self.sign_in(self.me["session"])
        if SPREAD:
            gevent.sleep(SPREAD * self.index / max(1, len(PLAN["applicants"])))

    @task
    def submit(self):
        """Open the draft, submit it; on a server error or a dropped connection wait and
        start again from the page, as a person would."""
        detail = f"/proposals/{self.me['pk']}/"
        for attempt in range(RETRIES + 1):
            if attempt:
                gevent.sleep(min(2 * attempt, 10))
            page = self.client.get(detail, name="applicant: proposal")
            if page.status_code != 200:
                continue
            data = {"csrfmiddlewaretoken": self.csrf(page), "t-submit-comment": ""}
            submitted = self.post_form(
                f"{detail}steps/submit/", data, name="applicant: submit", referer=detail
            )
            if submitted is not None:
                break
        self.client.get(detail, name="applicant: proposal after submit")
        _done["applicants"] += 1
        if _done["applicants"] == len(PLAN["applicants"]):
            gevent.spawn_later(1, self.environment.runner.quit)
        raise StopUser


class Officer(Signed):
    fixed_count = len(PLAN["officers"])
    wait_time = between(2, 6)

    def on_start(self):
        self.me = next(_officers)
        self.sign_in(self.me["session"])

    @task
    def browse(self):
        self.client.get("/proposals/formal-check/", name="officer: formal-check queue")
        pk = random.choice(self.me["proposals"])
        self.client.get(f"/proposals/{pk}/", name="officer: proposal")


class Reviewer(Signed):
    fixed_count = len(PLAN["reviewers"])
    wait_time = between(5, 15)

    def on_start(self):
        self.me = next(_reviewers)
        self.sign_in(self.me["session"])
        self.todo = list(self.me["assignments"])

    @task
    def review(self):
        if not self.todo:
            self.client.get("/review/my/", name="reviewer: my reviews")
            return
        pk = self.todo[0]
        self.client.get(f"/review/my/{pk}/", name="reviewer: assignment")
        form = f"/review/my/{pk}/review/"
        page = self.client.get(form, name="reviewer: review form")
        if page.status_code != 200:
            return  # tried again on the next turn
        response = self.post_form(
            form,
            {
                "csrfmiddlewaretoken": self.csrf(page),
                "score_excellence": "4",
                "score_impact": "3.5",
                "score_implementation": "4",
                "recommendation": "fund",
                "comment": "研究目标明确，方案可行。",
                "confidential_comment": "",
                "submit": "1",
            },
            name="reviewer: submit review",
            referer=form,
        )
        if response is not None:
            self.todo.pop(0)
