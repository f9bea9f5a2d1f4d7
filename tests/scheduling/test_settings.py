"""The scheduling settings: validation, and the one answer to "is a scheduled sync due?"."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from netbox_meraki.models import PluginSettings

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def schedule(enabled=True, interval=60, last=None, upcoming=None):
    return PluginSettings(
        enable_scheduled_sync=enabled, sync_interval_minutes=interval, last_scheduled_sync=last,
        next_scheduled_sync=upcoming,
    )


def test_an_interval_under_five_minutes_is_rejected_with_a_clear_message():
    settings = PluginSettings.load()
    settings.sync_interval_minutes = 4
    with pytest.raises(ValidationError) as raised:
        settings.full_clean()
    assert raised.value.message_dict == {
        'sync_interval_minutes': ['Scheduled syncs cannot run more often than every 5 minutes.'],
    }


def test_an_interval_of_five_minutes_is_accepted():
    settings = PluginSettings.load()
    settings.sync_interval_minutes = 5
    settings.full_clean()


def test_a_disabled_schedule_is_never_due():
    assert not schedule(enabled=False).should_run_scheduled_sync(NOON)
    overdue = schedule(enabled=False, last=NOON - timedelta(days=2), upcoming=NOON - timedelta(days=1))
    assert not overdue.should_run_scheduled_sync(NOON)


def test_a_schedule_that_never_ran_is_due_at_once():
    assert schedule().should_run_scheduled_sync(NOON)
    # Even with a next time in the future: the first scheduled sync has not happened yet.
    assert schedule(upcoming=NOON + timedelta(hours=1)).should_run_scheduled_sync(NOON)


def test_a_schedule_without_a_next_time_is_due():
    assert schedule(last=NOON - timedelta(minutes=1)).should_run_scheduled_sync(NOON)


def test_the_sync_is_due_from_the_next_time_on_and_not_before():
    settings = schedule(last=NOON - timedelta(hours=1), upcoming=NOON)
    assert not settings.should_run_scheduled_sync(NOON - timedelta(microseconds=1))
    assert settings.should_run_scheduled_sync(NOON)
    assert settings.should_run_scheduled_sync(NOON + timedelta(seconds=1))


def test_should_run_uses_the_current_time_by_default():
    assert schedule(last=timezone.now(), upcoming=timezone.now() - timedelta(seconds=1)).should_run_scheduled_sync()
    assert not schedule(last=timezone.now(), upcoming=timezone.now() + timedelta(minutes=5)).should_run_scheduled_sync()


def test_update_next_sync_time_stores_one_interval_later():
    settings = PluginSettings.load()
    settings.sync_interval_minutes = 45
    settings.save()

    assert settings.update_next_sync_time(NOON) == NOON + timedelta(minutes=45)
    assert PluginSettings.load().next_scheduled_sync == NOON + timedelta(minutes=45)


def test_update_next_sync_time_without_save_leaves_the_database_alone():
    settings = PluginSettings.load()
    settings.update_next_sync_time(NOON, save=False)
    assert settings.next_scheduled_sync == NOON + timedelta(minutes=settings.sync_interval_minutes)
    assert PluginSettings.load().next_scheduled_sync is None


def test_update_next_sync_time_counts_from_now_by_default():
    settings = PluginSettings.load()
    before = timezone.now()
    upcoming = settings.update_next_sync_time()
    after = timezone.now()
    assert before + timedelta(minutes=60) <= upcoming <= after + timedelta(minutes=60)


def test_after_update_the_sync_is_not_due_until_the_interval_has_passed():
    settings = schedule(interval=5, last=NOON)
    settings.update_next_sync_time(NOON, save=False)
    assert not settings.should_run_scheduled_sync(NOON + timedelta(minutes=4, seconds=59))
    assert settings.should_run_scheduled_sync(NOON + timedelta(minutes=5))
