from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('netbox_meraki', '0010_review_queue'),
    ]

    operations = [
        migrations.AddField(
            model_name='syncrun',
            name='phase_started',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='syncrun',
            name='progress_detail',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='syncrun',
            name='review_completed',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='syncrun',
            name='review_started',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
