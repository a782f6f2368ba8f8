"""Secret values are hidden whole; plain values and the text around them are left alone."""

from ansible_collections.flowspace.infra.plugins.module_utils.masking import (
    MASK,
    NO_LOG_PLACEHOLDER,
    mask,
    masked_invocation,
    masking_exits,
    secret_values,
)

VARIABLES = [
    {"key": "PLAIN", "value": "b", "type": "plain"},
    {"key": "KEY", "value": "APIkey123", "type": "encrypted"},
    {"key": "SECRET", "value": "s3cr3t-value-0123456789", "type": "sensitive"},
]


def test_only_values_of_non_plain_variables_are_secret() -> None:
    assert secret_values(VARIABLES) == ["APIkey123", "s3cr3t-value-0123456789"]


def test_a_secret_is_hidden_where_it_stands_whole_in_any_string_of_the_result() -> None:
    result = {"msg": "SECRET is s3cr3t-value-0123456789; key=APIkey123.", "list": ["APIkey123"],
              "nested": {"APIkey123": 1}}
    masked = mask(result, secret_values(VARIABLES))
    assert masked == {"msg": f"SECRET is {MASK}; key={MASK}.", "list": [MASK], "nested": {MASK: 1}}


def test_text_that_merely_contains_a_value_is_not_garbled() -> None:
    text = "git_branch applies to the preview target; APIkey1234 is another key"
    assert mask({"msg": text}, ["b", "APIkey123"]) == {"msg": text}


def test_the_longest_secret_wins_when_one_contains_another() -> None:
    assert mask("x abc-def y", ["abc", "abc-def"]) == f"x {MASK} y"


def test_the_echoed_arguments_hide_secret_values_only() -> None:
    params = {"project": "p", "variables": VARIABLES}
    shown = masked_invocation(params, secret_values(VARIABLES))["module_args"]["variables"]
    assert [v["value"] for v in shown] == ["b", NO_LOG_PLACEHOLDER, NO_LOG_PLACEHOLDER]
    assert VARIABLES[1]["value"] == "APIkey123", "the module's own params are not changed"


class FakeModule:
    def __init__(self, params):
        self.params, self.exited, self.failed = params, None, None

    def exit_json(self, **result):
        self.exited = result

    def fail_json(self, **result):
        self.failed = result


def test_the_module_exits_hide_secret_values_and_echo_masked_arguments() -> None:
    module = masking_exits(FakeModule({"project": "p", "variables": VARIABLES}))
    module.exit_json(changed=True, msg="KEY is APIkey123 and PLAIN is b")
    assert module.exited["msg"] == f"KEY is {MASK} and PLAIN is b"
    echoed = module.exited["invocation"]["module_args"]["variables"]
    assert [v["value"] for v in echoed] == ["b", NO_LOG_PLACEHOLDER, NO_LOG_PLACEHOLDER]
    module.fail_json("refused s3cr3t-value-0123456789", code="x")
    assert module.failed == {"msg": f"refused {MASK}", "code": "x",
                             "invocation": module.exited["invocation"]}
