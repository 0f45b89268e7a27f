"""The environment model: an environment file read, checked and turned into frozen dataclasses
(pure: no Pulumi, no network). ``load`` is the entry (``load_environment``, ``stack_settings``);
``model`` the dataclasses; ``layout`` how a team spells its subjects and names; one module per
section (``servers``, ``tenants``, ``accounts``, ``platform``, …) and the cross-section checks
(``checks``, ``estate_checks``)."""
