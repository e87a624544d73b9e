"""``fibo serve``: a review web app over the prompt library.

Server-rendered pages (Starlette + Jinja2, autoescaped, no inline script): the prompt list,
a prompt's version timeline, a version with its field meanings, exact wire and generations,
a side-by-side diff of any two versions with their images, and a form that moves a label
(``approved``) as a compare-and-set with a required note. Needs the ``serve`` extra::

    from fibo_prompts.library import Library
    from fibo_prompts.serve import create_app

    app = create_app(Library("prompts.sqlite"))      # any ASGI server runs it

Binds 127.0.0.1 by default; any other address needs an access token (:func:`check_bind`).
"""

from fibo_prompts.serve.app import create_app
from fibo_prompts.serve.security import TOKEN_ENV, check_bind, is_loopback

__all__ = ["TOKEN_ENV", "check_bind", "create_app", "is_loopback"]
