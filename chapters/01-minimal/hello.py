"""The smallest Flask app.

Run it either way:
    flask --app hello run      (the Flask CLI imports this module)
    python hello.py            (runs the block at the bottom)
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "Hello, World!"


# Only true for `python hello.py`. `flask run` imports this module under
# its own name, so it skips this block and starts its own server instead.
if __name__ == "__main__":
    app.run()
