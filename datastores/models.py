"""The data map: the company's other databases (ExternalSystem) and the tables in them that hold
personal data (ExternalTable), declared like our own models are declared to the registry.

Credentials are never stored: a system names the environment variable that holds its URL.
`DiscoveredColumn` keeps what `scan_datastore` found (column names and counts, never values).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retention.models import RetentionRule
from subjects.models import CollectionSource, DataSubject
from subjects.registry import DataCategory

IDENTITY_KINDS = ("email", "phone", "customer_key")
ENV_NAME = RegexValidator(r"^[A-Z][A-Z0-9_]*$", _("An environment variable name: capitals, digits and _."))
SQL_NAME = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_$]*$", _("A table or column name: letters, digits and _."))


class SystemKind(models.TextChoices):
    POSTGRESQL = "postgresql", _("PostgreSQL")
    MYSQL = "mysql", _("MySQL / MariaDB")


class EraseMode(models.TextChoices):
    DELETE = "delete", _("Delete the rows")
    OVERWRITE = "overwrite", _("Overwrite named columns")


class ExternalSystem(models.Model):
    key = models.SlugField(_("key"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    owner = models.CharField(_("owner"), max_length=200, blank=True, help_text=_("Team or person responsible."))
    kind = models.CharField(_("kind"), max_length=16, choices=SystemKind.choices)
    url_env = models.CharField(
        _("URL environment variable"),
        max_length=100,
        validators=[ENV_NAME],
        help_text=_("The name of the environment variable holding the database URL; never the URL itself."),
    )
    naive_timezone = models.CharField(
        _("time zone of naive timestamps"),
        max_length=64,
        default="UTC",
        help_text=_("How to read timestamp columns stored without a time zone."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("external system")
        verbose_name_plural = _("external systems")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key


class ExternalTable(models.Model):
    system = models.ForeignKey(
        ExternalSystem, verbose_name=_("system"), on_delete=models.CASCADE, related_name="tables"
    )
    table = models.CharField(_("table"), max_length=128, validators=[SQL_NAME])
    # {"email": column, "phone": column, "customer_key": column}: at least one.
    identity = models.JSONField(_("identity columns"), default=dict)
    runs_from = models.CharField(_("retention runs from (column)"), max_length=128, validators=[SQL_NAME])
    # [[column, label], ...]: a list, so the order survives PostgreSQL's jsonb (which reorders object
    # keys). A {column: label} mapping typed in the admin is turned into the list on save.
    export = models.JSONField(_("exported columns and labels"), default=list)
    erase_mode = models.CharField(_("erasure"), max_length=16, choices=EraseMode.choices, default=EraseMode.DELETE)
    # {column: replacement (null allowed)} when erase_mode is overwrite.
    overwrite = models.JSONField(_("overwritten columns"), default=dict, blank=True)
    category = models.CharField(_("data category"), max_length=32, choices=DataCategory.choices)
    source = models.CharField(_("collection source"), max_length=32, choices=CollectionSource.choices)
    rule = models.ForeignKey(RetentionRule, verbose_name=_("retention rule"), on_delete=models.PROTECT)
    kept_after_erasure = models.BooleanField(
        _("kept after erasure"),
        default=False,
        help_text=_("A statute requires keeping these rows for the rule's period."),
    )

    class Meta:
        verbose_name = _("external table")
        verbose_name_plural = _("external tables")
        ordering = ["system__key", "table"]
        constraints = [models.UniqueConstraint(fields=["system", "table"], name="externaltable_unique_per_system")]

    def __str__(self) -> str:
        return self.label

    def save(self, *args, **kwargs):
        self.export = [[column, label] for column, label in self.export_map.items()]
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        """ "website.members": how ledgers, packages and the policy facts name the table."""
        return f"{self.system.key}.{self.table}"

    @property
    def display_name(self) -> str:
        return f"{self.system.name}: {self.table}"

    def columns_named(self) -> set[str]:
        return {*self.identity.values(), self.runs_from, *self.export_map, *self.overwrite}

    @property
    def export_map(self) -> dict[str, str]:
        """{column: label}, in the declared order."""
        if isinstance(self.export, dict):
            return {str(k): str(v) for k, v in self.export.items()}
        return {str(pair[0]): str(pair[1]) for pair in self.export or []}

    def clean(self) -> None:
        errors = {}
        identity = self.identity if isinstance(self.identity, dict) else None
        if (
            not identity
            or not set(identity) <= set(IDENTITY_KINDS)
            or not all(isinstance(v, str) for v in identity.values())
        ):
            errors["identity"] = _("Name at least one identity column: email, phone or customer_key.")
        pairs_ok = isinstance(self.export, list) and all(
            isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in self.export
        )
        if not self.export or not (isinstance(self.export, dict) or pairs_ok):
            errors["export"] = _("Name the columns to export, each with its label.")
        if self.erase_mode == EraseMode.OVERWRITE and (not isinstance(self.overwrite, dict) or not self.overwrite):
            errors["overwrite"] = _("Name the columns to overwrite and their replacement values.")
        if self.erase_mode == EraseMode.DELETE and self.overwrite:
            errors["overwrite"] = _("Overwritten columns are only for erasure by overwriting.")
        if errors:
            raise ValidationError(errors)
        if self.system_id is not None:
            from .connect import DatastoreError, check_table

            try:
                check_table(self)
            except DatastoreError as exc:
                raise ValidationError(str(exc)) from None


class ExternalKey(models.Model):
    """A person's customer key in one external system (when the system knows people by its own key)."""

    system = models.ForeignKey(ExternalSystem, verbose_name=_("system"), on_delete=models.CASCADE)
    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.CASCADE)
    key = models.CharField(_("customer key"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer key in an external system")
        verbose_name_plural = _("customer keys in external systems")
        constraints = [models.UniqueConstraint(fields=["system", "key"], name="externalkey_unique_per_system")]

    def __str__(self) -> str:
        return f"key #{self.pk}"


class ColumnKind(models.TextChoices):
    EMAIL = "email", _("Email addresses")
    KOREAN_MOBILE = "korean_mobile", _("Korean mobile numbers")
    RRN = "rrn", _("Resident registration numbers")
    IP = "ip", _("IP addresses")
    CARD = "card", _("Card numbers")
    NAME = "name", _("Names (by column name)")


class DiscoveredColumn(models.Model):
    """A column `scan_datastore` found to look like personal data. Counts only: no sampled value."""

    system = models.ForeignKey(ExternalSystem, verbose_name=_("system"), on_delete=models.CASCADE)
    table = models.CharField(_("table"), max_length=128)
    column = models.CharField(_("column"), max_length=128)
    kind = models.CharField(_("looks like"), max_length=16, choices=ColumnKind.choices)
    sampled = models.PositiveIntegerField(_("values sampled"), default=0)
    matched = models.PositiveIntegerField(_("values matching"), default=0)
    scanned_at = models.DateTimeField(_("scanned at"), default=timezone.now)

    class Meta:
        verbose_name = _("discovered column")
        verbose_name_plural = _("discovered columns")
        ordering = ["system__key", "table", "column"]
        constraints = [models.UniqueConstraint(fields=["system", "table", "column"], name="discoveredcolumn_unique")]

    def __str__(self) -> str:
        return f"{self.system.key}.{self.table}.{self.column}"
