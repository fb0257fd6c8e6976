WHERE = "task root helper"
