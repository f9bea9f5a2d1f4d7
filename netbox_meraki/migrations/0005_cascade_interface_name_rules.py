from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0004_scheduling_coverage_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='change',
            name='cascade',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='pluginsettings',
            name='interface_name_rules',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
