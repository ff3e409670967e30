"""Readers for usage data: invocation logs (local, S3, CloudWatch Logs), metrics, billing."""
