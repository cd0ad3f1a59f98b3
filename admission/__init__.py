"""Admission: may a request go to a provider now, later, or not at all.

Pure core, no I/O, every function takes ``now`` (epoch seconds):

* :mod:`.bucket`: token buckets (``admit``, ``charge``).
* :mod:`.limits`: tenant and tenant+route RPM/TPM, token estimates, correction.
* :mod:`.accounts`: provider-account quota leases (``LeaseLedger`` on the
  owner, ``LocalQuota`` on each worker); :mod:`.adaptive`: AIMD on provider
  signals; :mod:`.provider_signals`: OpenAI / Anthropic rate-limit headers.
* :mod:`.budget`: daily / monthly USD budgets, idempotent per cost event.
* :mod:`.scheduler`: priority classes with aging, fair share across tenants.
* :mod:`.decide`: the one entry point the admission agent calls.
* :mod:`.config`: the ``[admission]`` settings.
"""
