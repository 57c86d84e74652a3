from django.db import migrations


def create_editors(apps, schema_editor):
    from cms.editors import grant_editors

    grant_editors(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("accounts", "0002_role_groups"),
        ("wagtailadmin", "0005_editingsession_is_editing"),
        ("wagtaildocs", "0014_alter_document_file_size"),
        ("wagtailimages", "0027_image_description"),
    ]
    operations = [migrations.RunPython(create_editors, migrations.RunPython.noop)]
