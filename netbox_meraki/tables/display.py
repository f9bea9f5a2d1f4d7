"""How runs and changes read on a page: field values, before/after pairs, change counts, durations."""

import html
from collections import defaultdict

from django.db.models import Count
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from utilities.string import humanize_duration

from ..choices import ChangeActionChoices, ChangeStateChoices
from ..grouping import DEVICE_SERIAL
from ..kinds import KINDS, kind_in_text, references
from ..models import Change, SyncedObject

__all__ = (
    'EMPTY', 'UNDECIDED', 'action_totals', 'display_value', 'field_label', 'object_names', 'outcome_counts',
    'outcome_parts', 'reference_names', 'render_action_totals', 'render_field_changes', 'render_outcome',
    'run_duration', 'shown_records', 'total_changes',
)

EMPTY = '—'

# States in which a person can still approve or reject a change.
UNDECIDED = (ChangeStateChoices.PENDING, ChangeStateChoices.HELD)


def display_value(value, names=None):
    """
    A stored field value as HTML: a reference by its object's name (`names`, see reference_names()) with its Meraki
    identity on hover, lists joined, nothing as a dash.
    """
    return mark_safe(value_html(value, names))


def value_html(value, names):
    """display_value() as a plain string, escaped: a page of 1,000 changes draws 10,000 values."""
    if value is None or value == '' or value == []:
        return EMPTY
    if isinstance(value, dict) and 'ref' in value:
        kind = escape(kind_in_text(value['ref']))
        if value.get('id') is None and value.get('pk') is not None:
            return f'{kind} #{escape(value["pk"])} (not synced)'
        name = (names or {}).get((value['ref'], value.get('id')))
        if name is None:
            return f'{kind} {escape(value.get("id"))}'
        return f'<span title="Meraki {escape(value.get("id"))}">{kind} {escape(name)}</span>'
    if isinstance(value, (list, tuple)):
        return ', '.join(value_html(item, names) for item in value)
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return escape(value)


def escape(value):
    # Django's escape() but for the lazy-text check and the safe-string wrapper, which cost more than the escaping.
    return html.escape(str(value))


def reference_names(changes):
    """
    {(kind, Meraki identity): name} of the objects the changes' values refer to, of the sites of their networks and of
    the devices a list grouped by device shows (see object_names()).
    """
    wanted = set().union(*(references(change.before) | references(change.after) for change in changes))
    wanted |= {('site', change.scope) for change in changes if change.scope}
    # The devices a grouped list shows changes of (see grouping.grouped()).
    wanted |= {('device', serial) for change in changes if (serial := getattr(change, DEVICE_SERIAL, None))}
    return object_names(wanted, {change.run_id for change in changes})


def object_names(wanted, run_ids):
    """
    {(kind, Meraki identity): name} of the `wanted` objects: the name a change of the runs `run_ids` gives the object
    (one it creates or changes), else the name of the object the plugin owns in NetBox. A query for each, and one per
    kind of owned object named.
    """
    if not wanted:
        return {}
    kinds, identities = {kind for kind, _ in wanted}, {meraki_id for _, meraki_id in wanted}
    names = {}
    planned = Change.objects.filter(run_id__in=run_ids, kind__in=kinds, meraki_id__in=identities)
    for kind, meraki_id, label in planned.values_list('kind', 'meraki_id', 'object_repr'):
        if (kind, meraki_id) in wanted:
            names[kind, meraki_id] = label
    owned = defaultdict(dict)  # kind -> object id -> Meraki identity
    rows = SyncedObject.objects.filter(kind__in=kinds, meraki_id__in=identities).values_list(
        'kind', 'meraki_id', 'object_id')
    for kind, meraki_id, object_id in rows:
        if (kind, meraki_id) in wanted and (kind, meraki_id) not in names and kind in KINDS:
            owned[kind][object_id] = meraki_id
    for kind, identities_by_pk in owned.items():
        for pk, obj in KINDS[kind].model.objects.in_bulk(list(identities_by_pk)).items():
            names[kind, identities_by_pk[pk]] = str(obj)
    return names


def field_label(name):
    # Custom fields are stored as cf_<name>; people know them by name.
    return name[3:] if name.startswith('cf_') else name


def render_field_changes(change, names=None):
    """
    One line per field: `name: before → after` (only the after value for a creation, the before for a removal);
    references by name (see display_value()).
    """
    # A page of 1,000 changes has 10,000 lines: they are joined around the escaped values rather than through
    # format_html, and a line of one value takes its colour from the line rather than from an element of its own.
    lines = []
    for name in change.fields:
        label = f'<span class="text-secondary">{escape(field_label(name))}:</span>'
        if change.action == ChangeActionChoices.CREATE or name not in change.before:
            lines.append(f'<div class="text-success">{label} {value_html(change.after.get(name), names)}</div>')
        elif change.action == ChangeActionChoices.DELETE or name not in change.after:
            lines.append(f'<div class="text-danger">{label} {value_html(change.before.get(name), names)}</div>')
        else:
            lines.append(
                f'<div>{label} <span class="text-danger">{value_html(change.before[name], names)}</span> '
                '<i class="mdi mdi-arrow-right" aria-label="becomes"></i> '
                f'<span class="text-success">{value_html(change.after[name], names)}</span></div>'
            )
    return mark_safe(''.join(lines))


def action_totals(counts):
    """A run's counts (object type -> action -> number) summed per action, in the order of the action choices."""
    totals = dict.fromkeys(ChangeActionChoices.values(), 0)
    for actions in (counts or {}).values():
        for action, number in actions.items():
            totals[action] = totals.get(action, 0) + number
    return {action: number for action, number in totals.items() if number}


def total_changes(counts):
    return sum(action_totals(counts).values())


def render_action_totals(counts):
    """Badges such as `12 create  3 update`, coloured like the actions."""
    totals = action_totals(counts)
    if not totals:
        return EMPTY
    colors = ChangeActionChoices.colors
    return format_html_join(
        ' ', '<span class="badge text-bg-{}">{} {}</span>',
        ((colors.get(action, 'secondary'), number, action) for action, number in totals.items()),
    )


def shown_records(table):
    """The records a table shows: its page's when it is paginated, else all of them."""
    rows = table.page.object_list if getattr(table, 'page', None) else table.data
    # A grouped list's group headers have no record.
    return [record for row in rows if (record := getattr(row, 'record', row)) is not None]


def outcome_counts(runs):
    """{run id: {change state: number}} for these runs: what became of their changes, in one query."""
    counts = defaultdict(dict)
    rows = Change.objects.filter(run__in=[run.pk for run in runs]).order_by().values_list('run_id', 'state')
    for run_id, state, number in rows.annotate(number=Count('pk')):
        counts[run_id][state] = number
    return counts


def outcome_parts(run, states):
    """
    (label, colour, number) for what became of a run's changes, in the order of the change states, named as its log
    names them (see ChangeStateChoices.outcome_label).
    """
    return [
        (str(ChangeStateChoices.outcome_label(state, run.mode)), color, number)
        for state, _label, color in ChangeStateChoices.CHOICES if (number := states.get(state))
    ]


def render_outcome(run, states):
    """Badges such as `120 applied  2 failed  1 held`, coloured like the change states."""
    parts = outcome_parts(run, states)
    if not parts:
        return EMPTY
    return format_html_join(' ', '<span class="badge text-bg-{}">{} {}</span>',
                            ((color, number, label) for label, color, number in parts))


def run_duration(run):
    """How long the run took, or has been running, in words such as `1m 5s`."""
    if run.started and run.completed:
        return humanize_duration(run.completed - run.started)
    return ''
