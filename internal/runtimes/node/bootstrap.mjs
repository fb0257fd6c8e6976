// Placeholder: replaced by the Node.js runtime client.
