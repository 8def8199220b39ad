import ast


def apply(setting, value):
    # ruleid: python-eval-dynamic
    return eval("config." + setting + " = " + value)


def run_plugin(source):
    # ruleid: python-eval-dynamic
    exec(source)


def parse(value):
    # ok: python-eval-dynamic
    constant = eval("2 ** 10")
    # ok: python-eval-dynamic
    return ast.literal_eval(value), constant
