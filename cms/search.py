"""Report search on PostgreSQL: a GIN index of character bigrams.

The report search matches a substring anywhere in a report's title, abstract, results or
keywords, and Chinese queries are often two characters (量子). Neither tool PostgreSQL ships
serves that: the 'simple' text-search parser does not segment Chinese, and a pg_trgm index
needs three characters. So the migration (``cms/migrations/0003_report_search``) adds an SQL
function giving the distinct upper-cased bigrams of a text (whitespace left out), a column
``search_bigrams`` on the reports' table generated from it (stored: PostgreSQL fills it on
every write; Django's model does not know it) and a GIN index on that column. A query of two
or more characters keeps the reports holding all of its bigrams; the usual ``icontains``
conditions then check the rest (a two-character query is one bigram: nothing to check).
Shorter queries, and SQLite (``make run``), use ``icontains`` alone.

Storing the bigrams matters: a GIN expression index alone would be bypassed by the planner
for a common bigram, which then computes the bigrams of every row.
"""

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

TABLE = "finance_streport"
COLUMN = "search_bigrams"
INDEX = "cms_streport_bigrams"

CREATE = [
    r"""
    CREATE OR REPLACE FUNCTION grantflow_bigrams(value text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT gram), '{}')
        FROM (SELECT c || lead(c) OVER (ORDER BY n) AS gram
              FROM string_to_table(upper(value), NULL) WITH ORDINALITY AS chars(c, n)) AS grams
        WHERE gram !~ '\s'
    $$
    """,
    """
    ALTER TABLE finance_streport ADD COLUMN search_bigrams text[]
    GENERATED ALWAYS AS (grantflow_bigrams(
        title::text || ' ' || abstract || ' ' || results_summary || ' ' || keywords::text
    )) STORED
    """,
    "CREATE INDEX cms_streport_bigrams ON finance_streport USING gin (search_bigrams)",
]
DROP = [
    "DROP INDEX IF EXISTS cms_streport_bigrams",
    "ALTER TABLE finance_streport DROP COLUMN IF EXISTS search_bigrams",
    "DROP FUNCTION IF EXISTS grantflow_bigrams(text)",
]


def bigrams_available():
    return connection.vendor == "postgresql"


def matching(reports, q):
    """``reports`` (STReports) whose title, abstract, results or keywords contain ``q``."""
    contains = (
        Q(title__icontains=q)
        | Q(abstract__icontains=q)
        | Q(results_summary__icontains=q)
        | Q(keywords__icontains=q)
    )
    if not bigrams_available() or len("".join(q.split())) < 2:
        return reports.filter(contains)
    column = f"{connection.ops.quote_name(TABLE)}.{connection.ops.quote_name(COLUMN)}"
    # Constant SQL; the query is a parameter.
    holding = RawSQL(f"{column} @> grantflow_bigrams(%s)", [q], output_field=BooleanField())  # noqa: S611
    narrowed = reports.filter(holding)
    if len(q) == 2 and not any(c.isspace() for c in q):
        return narrowed
    return narrowed.filter(contains)
