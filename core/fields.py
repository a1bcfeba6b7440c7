"""Marshmallow fields and messages shared by every package.

Users of the mini-program read Chinese, so marshmallow's default validation
messages are replaced with zh-CN ones once, at import (see ``use_chinese_messages``).
"""

from collections.abc import Iterable
from enum import StrEnum

from marshmallow import Schema, ValidationError, fields, validate

from core.clock import BEIJING
from core.vocabulary import LabelledEnum


class LocalDateTime(fields.DateTime):
    """An aware datetime shown in Asia/Shanghai with its offset (+08:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(BEIJING)
        return super()._serialize(value, attr, obj, **kwargs)


def use_chinese_messages() -> None:
    """Replace marshmallow's English default messages with Chinese ones."""
    fields.Field.default_error_messages.update(
        required="此字段为必填项", null="此字段不能为空", validator_failed="取值无效"
    )
    fields.String.default_error_messages.update(invalid="应为字符串", invalid_utf8="不是有效的 UTF-8 文本")
    fields.Integer.default_error_messages.update(invalid="应为整数")
    fields.Number.default_error_messages.update(invalid="应为数字", too_large="数值过大")
    fields.Boolean.default_error_messages.update(invalid="应为 true 或 false")
    fields.Date.default_error_messages.update(invalid="日期格式应为 YYYY-MM-DD")
    fields.DateTime.default_error_messages.update(invalid="时间格式应为 ISO 8601")
    fields.List.default_error_messages.update(invalid="应为列表")
    fields.Nested.default_error_messages.update(type="应为对象")
    fields.Dict.default_error_messages.update(invalid="应为对象")
    Schema._default_error_messages = {
        **Schema._default_error_messages,
        "type": "请求体应为 JSON 对象",
        "unknown": "未知字段",
    }
    validate.Length.message_min = "长度不能少于 {min}"
    validate.Length.message_max = "长度不能超过 {max}"
    validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
    validate.Length.message_equal = "长度应为 {equal}"
    validate.Range.message_gte, validate.Range.message_gt = "大于或等于", "大于"
    validate.Range.message_lte, validate.Range.message_lt = "小于或等于", "小于"
    validate.Range.message_min = "应{min_op} {{min}}"
    validate.Range.message_max = "应{max_op} {{max}}"
    validate.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}}"
    validate.OneOf.default_message = "应为以下之一：{choices}"
    validate.Regexp.default_message = "格式不正确"


class FullMatch(validate.Regexp):
    """``validate.Regexp`` that must match the whole value.

    ``Regexp`` uses ``re.match``, where a pattern ending in ``$`` also accepts a
    trailing newline (``"ABC123\\n"``); a value that passes here is exactly the pattern.
    """

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class SerialNumber(fields.String):
    """A serial number staff type or paste (a bank's 流水号): compared trimmed and in upper case.

    Its validators see the normalised value, so ``" abc-123\\n"`` and ``"ABC-123"``
    are one serial, for the duplicate lookups as much as for the format check.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().upper()


def one_of(vocabulary: Iterable[StrEnum]) -> validate.OneOf:
    """A validator accepting a StrEnum's values (or some members'); the loaded value stays the plain string."""
    return validate.OneOf([member.value for member in vocabulary])


def enum_string(vocabulary: type[StrEnum], **kwargs) -> fields.String:
    """An output string field whose OpenAPI schema lists the vocabulary's values (and their labels)."""
    metadata = {"enum": [member.value for member in vocabulary]}
    if issubclass(vocabulary, LabelledEnum):
        metadata["description"] = "；".join(f"{member.value}：{member.label}" for member in vocabulary)
    return fields.String(metadata=metadata, **kwargs)
