# Placeholder: replaced by the Python runtime client.
