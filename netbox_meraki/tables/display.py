"""How runs and changes read on a page: field values, before/after pairs, change counts, durations."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from utilities.string import humanize_duration

from ..choices import ChangeActionChoices

__all__ = (
    'action_totals', 'display_value', 'render_action_totals', 'render_field_changes', 'run_duration', 'total_changes',
)

EMPTY = '—'


def display_value(value):
    """A stored field value as text: references by their Meraki identity, lists joined, nothing as a dash."""
    if value is None or value == '' or value == []:
        return EMPTY
    if isinstance(value, dict) and 'ref' in value:
        if value.get('id') is None and value.get('pk') is not None:
            return f'{value["ref"]} #{value["pk"]} (not synced)'
        return f'{value["ref"]} {value.get("id")}'
    if isinstance(value, (list, tuple)):
        return ', '.join(display_value(item) for item in value)
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def field_label(name):
    # Custom fields are stored as cf_<name>; people know them by name.
    return name[3:] if name.startswith('cf_') else name


def render_field_changes(change):
    """One line per field: `name: before → after` (only the after value for a creation, the before for a removal)."""
    lines = []
    for name in change.fields:
        label = field_label(name)
        if change.action == ChangeActionChoices.CREATE or name not in change.before:
            lines.append(format_html(
                '<div><span class="text-secondary">{}:</span> <span class="text-success">{}</span></div>',
                label, display_value(change.after.get(name)),
            ))
        elif change.action == ChangeActionChoices.DELETE or name not in change.after:
            lines.append(format_html(
                '<div><span class="text-secondary">{}:</span> <span class="text-danger">{}</span></div>',
                label, display_value(change.before.get(name)),
            ))
        else:
            lines.append(format_html(
                '<div><span class="text-secondary">{}:</span> <span class="text-danger">{}</span> '
                '<i class="mdi mdi-arrow-right" aria-label="becomes"></i> <span class="text-success">{}</span></div>',
                label, display_value(change.before.get(name)), display_value(change.after.get(name)),
            ))
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


def run_duration(run):
    """How long the run took, or has been running, in words such as `1m 5s`."""
    if run.started and run.completed:
        return humanize_duration(run.completed - run.started)
    return ''
