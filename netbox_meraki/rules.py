"""
Rules and transforms that shape names and filter subnets: site-name rules, prefix filters, name transforms.
Pure functions, plus validators that explain what is wrong with a setting (used by the settings model,
the forms and the live "test this rule" previews).
"""

import ipaddress
import re
import string

from django.core.exceptions import ValidationError

__all__ = (
    'NAME_TRANSFORMS', 'apply_site_name_rules', 'prefix_allowed', 'transform_name', 'validate_prefix_filters',
    'validate_site_name_rules',
)

NAME_TRANSFORMS = {
    'keep': lambda name: name,
    'upper': str.upper,
    'lower': str.lower,
    'title': str.title,
}


def transform_name(name, transform):
    return NAME_TRANSFORMS.get(transform or 'keep', NAME_TRANSFORMS['keep'])(name)


def template_fields(template):
    return [field for _text, field, _spec, _conversion in string.Formatter().parse(template) if field is not None]


def validate_site_name_rules(rules):
    """Raise ValidationError naming the rule and the reason when a rule cannot work."""
    if not isinstance(rules, list):
        raise ValidationError('Site-name rules must be a list of {"regex": ..., "template": ...} objects.')
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or set(rule) - {'regex', 'template'} or not rule.get('regex') or not rule.get(
            'template'
        ):
            raise ValidationError(f'Rule {number}: give exactly a non-empty "regex" and a non-empty "template".')
        try:
            pattern = re.compile(rule['regex'])
        except re.error as exc:
            raise ValidationError(f'Rule {number}: the regex does not compile: {exc}.') from None
        known = set(pattern.groupindex) | {'name'}
        try:
            fields = template_fields(rule['template'])
        except ValueError as exc:
            raise ValidationError(f'Rule {number}: the template is not valid: {exc}.') from None
        for field in fields:
            if field not in known:
                raise ValidationError(
                    f'Rule {number}: the template uses {{{field}}}, which is neither a named group of the regex '
                    f'nor {{name}}. Known fields: {", ".join(sorted(known))}.'
                )


def apply_site_name_rules(network_name, rules):
    """
    The site name for a network: the first rule whose regex matches the network name (re.search) formats its
    template with the regex's named groups and {name}; the network name itself when no rule matches.
    """
    for rule in rules or []:
        match = re.search(rule['regex'], network_name)
        if match:
            values = {key: value or '' for key, value in match.groupdict().items()}
            return rule['template'].format(**{'name': network_name, **values}).strip() or network_name
    return network_name


def validate_prefix_filters(filters):
    if not isinstance(filters, dict) or set(filters) - {'include', 'exclude', 'min_length', 'max_length'}:
        raise ValidationError('Prefix filters take "include", "exclude", "min_length" and "max_length".')
    for key in ('include', 'exclude'):
        values = filters.get(key) or []
        if not isinstance(values, list):
            raise ValidationError(f'"{key}" must be a list of CIDRs.')
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except (TypeError, ValueError):
                raise ValidationError(f'"{key}": {value!r} is not a CIDR (for example 10.0.0.0/8).') from None
    bounds = [filters.get('min_length'), filters.get('max_length')]
    for key, value in zip(('min_length', 'max_length'), bounds, strict=True):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 128):
            raise ValidationError(f'"{key}" must be a prefix length from 0 to 128, or empty.')
    if None not in bounds and bounds[0] > bounds[1]:
        raise ValidationError('"min_length" cannot be greater than "max_length".')


def prefix_allowed(cidr, filters):
    """
    Whether a subnet passes the filters: inside one of the "include" CIDRs (when any are given), inside none
    of the "exclude" CIDRs, and with a prefix length within the bounds. Subnets that do not parse never pass.
    """
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except (TypeError, ValueError):
        return False
    filters = filters or {}

    def inside(values):
        for value in values or []:
            container = ipaddress.ip_network(value, strict=False)
            if container.version == network.version and network.subnet_of(container):
                return True
        return False

    if filters.get('include') and not inside(filters['include']):
        return False
    if inside(filters.get('exclude')):
        return False
    if filters.get('min_length') is not None and network.prefixlen < filters['min_length']:
        return False
    return not (filters.get('max_length') is not None and network.prefixlen > filters['max_length'])
