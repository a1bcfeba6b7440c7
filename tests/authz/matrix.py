"""The authorization matrix as data: ``matrix.txt`` read into ``{(method, rule): {role: outcome}}``."""

from pathlib import Path

from tests.authz.world import ROLES

PATH = Path(__file__).with_name("matrix.txt")
OUTCOMES = {"ok", "401", "403", "404", "422", "login"}


def parse(text: str) -> tuple[dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], str]]:
    """Lines ``METHOD RULE cell × len(ROLES)  # note``; blank lines and ``#`` comments are skipped.

    Returns the matrix and the notes of the lines that have one.
    """
    matrix: dict[tuple[str, str], dict[str, str]] = {}
    notes: dict[tuple[str, str], str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line, _, note = raw.partition(" #")
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        # A rule may hold a space (``<any(suspend, reactivate):action>``): it is everything between.
        method, rule, cells = tokens[0], " ".join(tokens[1 : -len(ROLES)]), tokens[-len(ROLES) :]
        unknown = set(cells) - OUTCOMES
        if len(tokens) < len(ROLES) + 2 or unknown:
            raise ValueError(f"{PATH.name}:{number}: expected METHOD RULE and {len(ROLES)} of {sorted(OUTCOMES)}")
        if (method, rule) in matrix:
            raise ValueError(f"{PATH.name}:{number}: a second line for {method} {rule}")
        matrix[(method, rule)] = dict(zip(ROLES, cells, strict=True))
        if note.strip():
            notes[(method, rule)] = note.strip()
    return matrix, notes


MATRIX, NOTES = parse(PATH.read_text(encoding="utf-8"))
