"""The model rendered for running: nats-server configs, Kubernetes manifests, bundles and templates.

``server_conf`` writes nats-server config text from a frozen description; ``hub_conf`` derives the
hub servers' description from the environment, and ``server_budget`` the settings that grow with the
estate; ``k8s_manifests`` lays the hub out as Kubernetes objects; ``leafnode`` and
``producer_templates`` render what customers and tenants run on their side; ``bundle_files`` writes a
bundle to disk, the only file-system access of the model.
"""
