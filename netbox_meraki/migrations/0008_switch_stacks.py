from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0007_dashboard_links'),
    ]

    operations = [
        migrations.AddField(
            model_name='pluginsettings',
            name='sync_switch_stacks',
            field=models.BooleanField(
                default=False,
                help_text=(
                    'Make each Meraki switch stack a virtual chassis of its switches. Costs one API call per network '
                    'with switches on each read of that network (getNetworkSwitchStacks: Meraki has no '
                    'organization-wide list).'
                ),
                verbose_name='sync switch stacks',
            ),
        ),
    ]
