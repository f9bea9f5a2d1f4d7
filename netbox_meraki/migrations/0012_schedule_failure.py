from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0011_run_progress'),
    ]

    operations = [
        migrations.AddField(
            model_name='pluginsettings',
            name='schedule_failed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='pluginsettings',
            name='schedule_failure',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name='pluginsettings',
            name='inventory_site_name',
            field=models.CharField(blank=True, default='Meraki inventory', max_length=100),
        ),
    ]
