"""What the APIs' payload models share: the frozen base model and strict wire values, and
the schedule events that Webex and BroadWorks tell by their first occurrence."""
