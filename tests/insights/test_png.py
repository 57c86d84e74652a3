"""PNG export: the dashboard's SVG rasterised on the server, Chinese labels drawn as glyphs."""

import io
import re

import pytest
from django.urls import reverse
from django.utils import translation
from PIL import Image, ImageChops

from insights import charts
from programs.models import Category
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    ProgramFactory,
    applicant,
    officer,
)

pytestmark = pytest.mark.django_db


def _svg_size(svg):
    width, height = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', svg).groups()
    return int(width), int(height)


def test_png_of_a_chart_with_chinese_labels(login):
    for category in (Category.BASIC_FRONTIER, Category.INNOVATION_SUPPORT):
        ApplicationFactory(call=CallFactory(program=ProgramFactory(category=category)),
                           applicant=applicant())  # fmt: skip
    client = login(officer())
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    args = ["applications", "applications"]

    page = client.get(reverse("insights:dashboard", args=args[:1]))
    png_url = reverse("insights:png", args=args)
    assert png_url in page.content.decode()

    response = client.get(png_url, {"by": "category"})
    assert response["Content-Type"] == "image/png"
    assert 'filename="applications-applications.png"' in response["Content-Disposition"]
    svg = client.get(reverse("insights:svg", args=args), {"by": "category"}).content.decode()
    with translation.override("zh-hans"):
        label = str(Category.BASIC_FRONTIER.label)
    assert re.search(r"[\u4e00-\u9fff]", label) and label in svg
    image = Image.open(io.BytesIO(response.content))
    image.verify()
    width, height = _svg_size(svg)
    assert image.format == "PNG"
    assert image.size == (width * charts.PNG_SCALE, height * charts.PNG_SCALE)


def test_chinese_characters_are_drawn_not_boxes():
    """Without a CJK font every character would be the same missing-glyph box, and two
    labels of as many different characters would rasterise to the same pixels."""

    def render(label):
        svg = charts.bar_chart("图表", [(label, {"n": 1})], [("n", "数量")])
        return Image.open(io.BytesIO(charts.png(svg))).convert("RGB")

    assert ImageChops.difference(render("基础研究"), render("应用开发")).getbbox() is not None
