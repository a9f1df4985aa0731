"""The same slice of chapter 05's API, written with several contract libraries."""
