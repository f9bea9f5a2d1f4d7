"""
Rules and transforms that shape names and filter subnets: site-name rules, interface-name rules, prefix filters,
name transforms. Pure functions, plus validators that explain what is wrong with a setting (used by the settings
model, the forms and the live "test this rule" previews).
"""

import ipaddress
import re
import string

from django.core.exceptions import ValidationError

__all__ = (
    'INTERFACE_NAME_LENGTH', 'NAME_TRANSFORMS', 'apply_interface_name_rules', 'apply_site_name_rules',
    'interface_name_rule', 'prefix_allowed', 'site_name_rule', 'transform_name', 'validate_interface_name_rules',
    'validate_prefix_filters', 'validate_site_name_rules',
)

# The longest interface name NetBox stores (dcim.Interface.name).
INTERFACE_NAME_LENGTH = 64
# What a template may use besides its regex's named groups: the Meraki name, and for a site its organization's.
SITE_NAME_FIELDS = ('name', 'organization')
INTERFACE_NAME_FIELDS = ('name',)

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


def has_keys(rule, required, optional=()):
    """Whether a rule is an object of texts with the required keys filled in and no key it does not take."""
    return (
        isinstance(rule, dict)
        and not set(rule) - set(required) - set(optional)
        and all(isinstance(rule.get(key), str) and rule[key] for key in required)
        and all(isinstance(rule.get(key, ''), str) for key in optional)
    )


def compile_rule_regex(number, regex, what='regex'):
    try:
        return re.compile(regex)
    except re.error as exc:
        raise ValidationError(f'Rule {number}: the {what} does not compile: {exc}.') from None


def check_template(number, template, pattern, fields, max_length=None):
    """
    Refuse a template that does not parse, uses a field that is neither a named group of `pattern` nor one of
    `fields`, fails to format (a format spec for numbers: values are text), or whose own text is longer than
    `max_length`.
    """
    known = set(pattern.groupindex) | set(fields)
    try:
        used = template_fields(template)
    except ValueError as exc:
        raise ValidationError(f'Rule {number}: the template is not valid: {exc}.') from None
    for field in used:
        if field not in known:
            raise ValidationError(
                f'Rule {number}: the template uses {{{field}}}, which is neither a named group of the regex '
                f'nor {" or ".join(f"{{{name}}}" for name in fields)}. Known fields: {", ".join(sorted(known))}.'
            )
    try:
        text = template.format(**dict.fromkeys(known, ''))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f'Rule {number}: the template is not valid: {exc}.') from None
    if max_length is not None and len(text.strip()) > max_length:
        raise ValidationError(
            f'Rule {number}: the template gives names longer than {max_length} characters, more than NetBox takes.'
        )


def fill_template(template, match, **fields):
    """The template with the match's named groups (those that did not take part as empty) and the given fields."""
    groups = {key: value or '' for key, value in match.groupdict().items()}
    return template.format(**{**fields, **groups}).strip()


def validate_site_name_rules(rules):
    """Raise ValidationError naming the rule and the reason when a rule cannot work."""
    if not isinstance(rules, list):
        raise ValidationError('Site-name rules must be a list of {"regex": ..., "template": ...} objects.')
    for number, rule in enumerate(rules, start=1):
        if not has_keys(rule, ('regex', 'template')):
            raise ValidationError(f'Rule {number}: give exactly a non-empty "regex" and a non-empty "template".')
        pattern = compile_rule_regex(number, rule['regex'])
        check_template(number, rule['template'], pattern, SITE_NAME_FIELDS)


def site_name_rule(network_name, rules, organization=''):
    """
    Which rule names a network's site, and the name: (rule number from 1, site name), or (None, the network name)
    when no rule matches. The first rule whose regex matches the network name (re.search) formats its template with
    the regex's named groups, {name} (the network name) and {organization} (its organization's name).
    """
    for number, rule in enumerate(rules or [], start=1):
        if match := re.search(rule['regex'], network_name):
            name = fill_template(rule['template'], match, name=network_name, organization=organization or '')
            return number, name or network_name
    return None, network_name


def apply_site_name_rules(network_name, rules, organization=''):
    """The site name for a network (see site_name_rule); the network name itself when no rule matches."""
    return site_name_rule(network_name, rules, organization)[1]


def validate_interface_name_rules(rules):
    """Raise ValidationError naming the rule and the reason when an interface-name rule cannot work."""
    if not isinstance(rules, list):
        raise ValidationError(
            'Interface-name rules must be a list of {"models": ..., "regex": ..., "template": ...} objects.'
        )
    for number, rule in enumerate(rules, start=1):
        if not has_keys(rule, ('regex', 'template'), optional=('models',)):
            raise ValidationError(
                f'Rule {number}: give a non-empty "regex" and a non-empty "template", and optionally "models" '
                '(a regex on the device model; empty for every model).'
            )
        if rule.get('models'):
            compile_rule_regex(number, rule['models'], 'models regex')
        pattern = compile_rule_regex(number, rule['regex'])
        check_template(number, rule['template'], pattern, INTERFACE_NAME_FIELDS, max_length=INTERFACE_NAME_LENGTH)


def interface_name_rule(port_name, model, rules):
    """
    Which rule names a switch port's interface, and the name: (rule number from 1, interface name), or (None, the
    port name) when no rule matches. The first rule whose "models" regex matches the device model (re.search; an
    empty one matches every model) and whose regex matches the whole port name (re.fullmatch) formats its template
    with the regex's named groups and {name} (the port name). A name the template leaves empty, or makes longer than
    NetBox takes, falls back to the port name.
    """
    port_name = str(port_name)
    for number, rule in enumerate(rules or [], start=1):
        if rule.get('models') and not re.search(rule['models'], model or ''):
            continue
        if match := re.fullmatch(rule['regex'], port_name):
            name = fill_template(rule['template'], match, name=port_name)
            return number, name if 0 < len(name) <= INTERFACE_NAME_LENGTH else port_name
    return None, port_name


def apply_interface_name_rules(port_name, model, rules):
    """The interface name for a Meraki switch port (see interface_name_rule); the port name when no rule matches."""
    return interface_name_rule(port_name, model, rules)[1]


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
