"""The worker: one arq process serving both services. Machinery only.

The jobs themselves live in their domains: each domain that reacts to outbox events or runs
on a schedule declares them in its ``tasks.py`` (``shared.jobs.Tasks``), and each service
gathers its domains' with its outbox and ``Idempotency-Key`` tables in its own ``tasks.py``
(``shared.jobs.ServiceTasks``). The worker reaches the services through those modules only
(``registry.py``), never their models or repositories.

What is here: the arq app and its restarts (``app.py``), the outbox relay (``relay.py``),
the dispatch of each event to its handlers (``dispatch.py``), the job context handed to every
job (``context.py``, a ``shared.jobs.JobContext``), the job's log context and metrics
(``instrumentation.py``, ``metrics.py``), the SMTP connections (``smtp.py``), housekeeping
cron jobs (``housekeeping.py``) and the ``/healthz``, ``/readyz`` and ``/metrics`` endpoints
(``operations.py``). It has no API of its own.
"""
