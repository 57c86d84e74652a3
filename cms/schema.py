"""drf-spectacular: the API schema describes Grantflow's own API (/api/), not the Wagtail
admin's internal API views mounted under /cms-admin/."""


def api_only(endpoints, **kwargs):
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
