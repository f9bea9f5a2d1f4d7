from django.db import migrations, models

FINISHED = ('awaiting_review', 'completed', 'partial', 'failed', 'cancelled', 'interrupted')
UNAPPLIED = ('pending', 'held', 'approved')


def plan_dry_runs_and_supersede_reviews(apps, schema_editor):
    """
    Existing rows as this release makes them: the pending changes of finished dry runs are planned only, and of each
    organization's runs awaiting review only the newest still waits; the older ones are superseded, with what they
    had not applied.
    """
    SyncRun = apps.get_model('netbox_meraki', 'SyncRun')
    Change = apps.get_model('netbox_meraki', 'Change')
    Change.objects.filter(run__mode='dry_run', run__status__in=FINISHED, state='pending').update(state='planned')
    newest = {}
    older = []
    for pk, organization_id in SyncRun.objects.filter(status='awaiting_review').order_by(
        '-created', '-pk'
    ).values_list('pk', 'organization_id'):
        if organization_id in newest:
            older.append(pk)
        else:
            newest[organization_id] = pk
    Change.objects.filter(run__in=older, state__in=UNAPPLIED).update(state='superseded')
    SyncRun.objects.filter(pk__in=older).update(status='superseded')


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0009_site_groups_tenant'),
    ]

    operations = [
        migrations.CreateModel(
            name='Rejection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('organization_id', models.CharField(max_length=50)),
                ('kind', models.CharField(max_length=30)),
                ('meraki_id', models.CharField(max_length=200)),
                ('action', models.CharField(max_length=20)),
                ('after', models.JSONField(blank=True, default=dict)),
                ('rejected_in', models.PositiveBigIntegerField()),
            ],
            options={
                'verbose_name': 'rejection',
                'verbose_name_plural': 'rejections',
                'constraints': [models.UniqueConstraint(fields=('organization_id', 'kind', 'meraki_id', 'action'), name='netbox_meraki_rejection_unique')],
            },
        ),
        migrations.RunPython(plan_dry_runs_and_supersede_reviews, migrations.RunPython.noop),
    ]
