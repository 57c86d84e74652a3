from django import forms

from .models import Call, Program
from .services import CALL_FIELDS, PROGRAM_FIELDS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


class ProgramForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = list(PROGRAM_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class CallForm(forms.ModelForm):
    class Meta:
        model = Call
        fields = list(CALL_FIELDS)
        widgets = {
            "opens_at": DateTimeLocalInput(),
            "closes_at": DateTimeLocalInput(),
            "guideline": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.program = program
        for name in ("opens_at", "closes_at"):
            self.fields[name].input_formats = [
                DATETIME_FORMAT,
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
            ]
