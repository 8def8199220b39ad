from flask import render_template_string, request

PAGE = "<h1>{{ title }}</h1>"


def card():
    return render_template_string(PAGE, title=request.args.get("title", ""))
