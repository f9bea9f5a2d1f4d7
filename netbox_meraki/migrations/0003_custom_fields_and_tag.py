from django.db import migrations

# Device fields NetBox has no column for. Filled by the sync only: read-only in the UI.
CUSTOM_FIELDS = (
    ('meraki_firmware', 'Meraki firmware', 'Firmware version reported by the Meraki Dashboard'),
    ('meraki_mac', 'Meraki MAC address', 'MAC address reported by the Meraki Dashboard'),
)


def create(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    CustomField = apps.get_model('extras', 'CustomField')
    Tag = apps.get_model('extras', 'Tag')
    device_type, _ = ContentType.objects.get_or_create(app_label='dcim', model='device')
    for name, label, description in CUSTOM_FIELDS:
        field, _ = CustomField.objects.get_or_create(
            name=name,
            defaults={
                'type': 'text', 'label': label, 'description': description, 'group_name': 'Meraki',
                'ui_editable': 'no', 'ui_visible': 'if-set', 'required': False,
            },
        )
        field.object_types.add(device_type)
    Tag.objects.get_or_create(
        slug='meraki',
        defaults={'name': 'meraki', 'color': '67b86a', 'description': 'Synced from the Meraki Dashboard'},
    )


def remove(apps, schema_editor):
    apps.get_model('extras', 'CustomField').objects.filter(name__in=[name for name, *_ in CUSTOM_FIELDS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0002_sync_engine'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('extras', '0144_customfield_status'),
        ('dcim', '0251_fix_ltree_cascade_triggers'),
    ]

    operations = [
        migrations.RunPython(create, remove),
    ]
