from django.db import migrations

# The object's page in the Meraki Dashboard, on the sites and devices the sync fills it for: a custom field, as
# meraki_firmware is, so that NetBox shows it, filters and exports it. Filled by the sync only: read-only in the UI.
NAME = 'meraki_url'
MODELS = ('device', 'site')


def create(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    CustomField = apps.get_model('extras', 'CustomField')
    field, _ = CustomField.objects.get_or_create(
        name=NAME,
        defaults={
            'type': 'url', 'label': 'Meraki Dashboard', 'description': 'Page of the object in the Meraki Dashboard',
            'group_name': 'Meraki', 'ui_editable': 'no', 'ui_visible': 'if-set', 'required': False,
        },
    )
    for model in MODELS:
        field.object_types.add(ContentType.objects.get_or_create(app_label='dcim', model=model)[0])


def remove(apps, schema_editor):
    apps.get_model('extras', 'CustomField').objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0006_change_driven_reads'),
    ]

    operations = [
        migrations.RunPython(create, remove),
    ]
