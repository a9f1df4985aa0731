"""The safety page's capture: every bad request gets a 4xx JSON answer, and no row."""

from pitfalls import run_demo


def test_each_bad_request_gets_its_status_and_a_message():
    lines = run_demo("safety-responses").splitlines()
    answers = [line.split()[1] for line in lines if line.startswith("  -> ")]
    assert answers == [
        "201",
        "400",
        "400",
        "400",
        "400",
        "400",
        "400",
        "409",
        "413",
        "404",
        "404",
        "405",
    ]
    assert all('"message": "' in line for line in lines if line.startswith("  -> 4"))
    assert lines[-1] == "rows: 1 user(s), 0 post(s)"
