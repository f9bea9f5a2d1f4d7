import strawberry

from ..choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices

__all__ = (
    'MerakiChangeActionEnum',
    'MerakiChangeStateEnum',
    'MerakiRunStatusEnum',
    'MerakiRunTriggerEnum',
    'MerakiSyncModeEnum',
)

MerakiChangeActionEnum = strawberry.enum(ChangeActionChoices.as_enum(name='MerakiChangeActionEnum', prefix='action'))
MerakiChangeStateEnum = strawberry.enum(ChangeStateChoices.as_enum(name='MerakiChangeStateEnum', prefix='state'))
MerakiRunStatusEnum = strawberry.enum(RunStatusChoices.as_enum(name='MerakiRunStatusEnum', prefix='status'))
MerakiRunTriggerEnum = strawberry.enum(RunTriggerChoices.as_enum(name='MerakiRunTriggerEnum', prefix='trigger'))
MerakiSyncModeEnum = strawberry.enum(SyncModeChoices.as_enum(name='MerakiSyncModeEnum', prefix='mode'))
