"""What a person uses: the ``runbook`` command, JupyterLab/Voila servers."""
