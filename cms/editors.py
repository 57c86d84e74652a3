"""The ``editor`` group: people who write the public site in the Wagtail admin (/cms-admin/).

Named like the role groups (``accounts.roles``), but not a role of the funding workflow: it
gives Wagtail admin access, adding, editing and publishing pages below the site's home page
in every locale, and managing documents and images; nothing of grants, finance or integrity,
and no Django admin (that needs ``is_staff``, which editors do not get).

``grant_editors`` takes an app registry so the data migration (historical models) and the
page-tree builder (``cms.pages.build_site``, real models) share it; it is idempotent.
"""

EDITOR_GROUP = "editor"

PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"]
#: (app label, model, codenames) granted on the root collection.
COLLECTION_PERMISSIONS = [
    ("wagtaildocs", "document", ["add", "change", "choose", "delete"]),
    ("wagtailimages", "image", ["add", "change", "choose", "delete"]),
]


def _permission(apps, app_label, model, codename):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        defaults={"name": f"Can {codename.replace('_', ' ')}"},
    )
    return permission


def grant_editors(apps):
    """Create the group and its permissions; page permissions on every home page that
    exists (one per locale), document and image permissions on the root collection."""
    Group = apps.get_model("auth", "Group")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    HomePage = apps.get_model("cms", "HomePage")

    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    group.permissions.add(_permission(apps, "wagtailadmin", "admin", "access_admin"))
    page_permissions = [_permission(apps, "wagtailcore", "page", c) for c in PAGE_PERMISSIONS]
    for home in HomePage.objects.all():
        for permission in page_permissions:
            GroupPagePermission.objects.get_or_create(
                group=group, page_id=home.pk, permission=permission
            )
    root = Collection.objects.filter(depth=1).first()
    if root is None:  # a flushed database; Wagtail's migration creates it otherwise
        return group
    for app_label, model, actions in COLLECTION_PERMISSIONS:
        for action in actions:
            GroupCollectionPermission.objects.get_or_create(
                group=group,
                collection=root,
                permission=_permission(apps, app_label, model, f"{action}_{model}"),
            )
    return group
