"""
Runs over time, drawn on the server as SVG bar charts: no JavaScript library and nothing from the internet. Bars take
NetBox's colours through its `text-<colour>` classes and text and axes the page's own colour, so that the charts read
in light and dark mode; each bar says what it stands for on hover (its <title>).
"""

import math
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from .choices import ChangeStateChoices, RunStatusChoices

__all__ = ('Bar', 'bar_chart', 'run_charts')

# The drawing's own units (it scales to its container's width), and the margins for the axes' labels.
WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 46, 6, 10, 20
# Bars are at most this wide: a few runs are not drawn as a wall.
MINIMUM_SLOTS = 12
# NetBox has no text-gray class: its grey is "secondary".
TEXT_COLOURS = {'gray': 'secondary'}
# What did not go through: failed, conflicting or skipped changes.
NOT_APPLIED = (ChangeStateChoices.FAILED, ChangeStateChoices.CONFLICT, ChangeStateChoices.SKIPPED)


@dataclass
class Bar:
    """One run's bar: its parts from the bottom up, (value, NetBox colour), and what it says on hover."""

    parts: list
    tooltip: str


def nice_ceiling(value):
    """The axis' top: 1, 2 or 5 times a power of ten, at least `value` (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def seconds_label(seconds):
    if seconds < 120:
        return f'{seconds:g} s'
    if seconds < 7200:
        return f'{seconds / 60:g} min'
    return f'{seconds / 3600:g} h'


def number_label(number):
    return f'{number:,.0f}' if number == int(number) else f'{number:g}'  # the middle of an axis up to 1 is 0.5


def bar_chart(title, bars, value_label=number_label, first='', last=''):
    """
    An SVG bar chart: `bars` (Bar) from left to right, a y axis from 0 to a round top labelled with `value_label`, and
    the first and last bars' times (`first`, `last`) under the x axis.
    """
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((sum(value for value, _colour in bar.parts) for bar in bars), default=0))
    slot = plot_width / max(len(bars), MINIMUM_SLOTS)
    shapes = []
    for index, bar in enumerate(bars):
        x, base = LEFT + index * slot + slot * 0.15, TOP + plot_height
        rects = []
        for value, colour in bar.parts:
            height = plot_height * value / top
            base -= height
            rects.append((f'{x:.1f}', f'{base:.1f}', f'{slot * 0.7:.1f}', f'{height:.1f}',
                          TEXT_COLOURS.get(colour, colour)))
        shapes.append(format_html(
            '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="transparent"/>{}</g>',
            bar.tooltip, f'{x:.1f}', TOP, f'{slot * 0.7:.1f}', plot_height,
            format_html_join('', '<rect x="{}" y="{}" width="{}" height="{}" class="text-{}" fill="currentColor"/>',
                             rects),
        ))
    if not bars:
        shapes.append(format_html(
            '<text x="{}" y="{}" text-anchor="middle" class="text-secondary" fill="currentColor">No runs yet</text>',
            LEFT + plot_width / 2, TOP + plot_height / 2,
        ))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="{title}" class="meraki-plot" font-size="10" fill="currentColor"><title>{title}</title>'
        '<g stroke="currentColor" stroke-opacity="0.25">'
        '<line x1="{left}" y1="{top}" x2="{right}" y2="{top}" stroke-dasharray="2 3"/>'
        '<line x1="{left}" y1="{middle}" x2="{right}" y2="{middle}" stroke-dasharray="2 3"/>'
        '<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/></g>'
        '<g text-anchor="end"><text x="{label_x}" y="{top_label}">{top_value}</text>'
        '<text x="{label_x}" y="{middle_label}">{middle_value}</text>'
        '<text x="{label_x}" y="{bottom_label}">0</text></g>'
        '{shapes}'
        '<g class="text-secondary" fill="currentColor"><text x="{left}" y="{time_y}">{first}</text>'
        '<text x="{right}" y="{time_y}" text-anchor="end">{last}</text></g></svg>',
        width=WIDTH, height=HEIGHT, title=title, left=LEFT, right=WIDTH - RIGHT, top=TOP,
        middle=TOP + plot_height / 2, bottom=TOP + plot_height, label_x=LEFT - 4, top_label=TOP + 4,
        top_value=value_label(top), middle_label=TOP + plot_height / 2 + 3, middle_value=value_label(top / 2),
        bottom_label=TOP + plot_height + 3, shapes=format_html_join('', '{}', (
            (shape,) for shape in shapes)),
        time_y=HEIGHT - 4, first=first, last=last,
    )


def when(run):
    return f'{localtime(run.created):%Y-%m-%d %H:%M}'


def run_charts(runs, outcomes):
    """
    Three charts of `runs` (oldest first) as (title, legend, SVG): how long each took (coloured by its status), the
    changes it applied (and those that failed, conflicted or were skipped, above them) and its API calls (and the 429
    answers among them). `outcomes` is {run id: {change state: number}} (see outcome_counts()).
    """
    durations, changes, calls = [], [], []
    for run in runs:
        label = f'#{run.pk} {when(run)}, {run.get_status_display().lower()}'
        seconds = run.duration.total_seconds() if run.duration else 0
        colour = RunStatusChoices.colors.get(run.status, 'secondary')
        durations.append(Bar([(seconds, colour)], f'{label}: {seconds_label(round(seconds, 1))}'))
        states = outcomes.get(run.pk, {})
        applied = states.get(ChangeStateChoices.APPLIED, 0)
        not_applied = sum(states.get(state, 0) for state in NOT_APPLIED)
        changes.append(Bar([(applied, 'green'), (not_applied, 'red')],
                           f'{label}: {applied} applied, {not_applied} failed, conflicting or skipped'))
        rate_limited = min(run.api_rate_limited, run.api_calls)
        calls.append(Bar([(run.api_calls - rate_limited, 'blue'), (rate_limited, 'orange')],
                         f'{label}: {run.api_calls} API calls, {run.api_rate_limited} answered 429'))
    first, last = (when(runs[0]), when(runs[-1])) if runs else ('', '')
    return [
        ('Duration', 'coloured by the run\'s status',
         bar_chart('Duration of each run', durations, seconds_label, first, last)),
        ('Changes', 'applied (green), failed, conflicting or skipped (red)',
         bar_chart('Changes applied, and not applied, per run', changes, first=first, last=last)),
        ('API calls', 'answered (blue), 429 (orange)',
         bar_chart('API calls per run, and 429 answers', calls, first=first, last=last)),
    ]
