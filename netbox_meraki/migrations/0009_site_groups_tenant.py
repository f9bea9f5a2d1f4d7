from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0008_switch_stacks'),
    ]

    operations = [
        migrations.AddField(
            model_name='pluginsettings',
            name='tenant_per_organization',
            field=models.BooleanField(default=False),
        ),
    ]
