package e2e

import "testing"

// sharedScenarios run side by side on one cluster per topology: each uses
// its own pack (own refs), so they cannot see each other's rows. Scenarios
// that kill or stop a process get their own cluster (scenario_faults_test.go).
var sharedScenarios = []struct {
	name string
	run  func(t *testing.T, c cluster)
}{
	{"T1.1_interval_timer", scenarioIntervalTimer},
	{"T1.2_datetime_once", scenarioDatetimeOnce},
	{"T1.3_cron_seconds", scenarioCronSeconds},
	{"T3.1_datetime_in_the_past", scenarioDatetimePast},
	{"T3.2_disable_enable_rule", scenarioDisableEnable},
	{"T3.3_independent_timers", scenarioIndependentTimers},
	{"T3.24_one_second_interval", scenarioOneSecondInterval},
	{"T1.4_webhook_payload", scenarioWebhookPayload},
	{"T2.5_rule_criteria", scenarioRuleCriteria},
	{"T3.4_webhook_three_rules", scenarioWebhookThreeRules},
	{"T3.5_per_rule_criteria", scenarioPerRuleCriteria},
	{"T3.6_custom_sensor", scenarioCustomSensor},
	{"FIFO_enqueue_policy", scenarioFIFO},
	{"T1.8_failing_action", scenarioFailingAction},
	{"T2.8_retries", scenarioRetries},
	{"T2.9_timeout", scenarioTimeout},
	{"T3.13_missing_parameter", scenarioMissingParameter},
	{"T3.20_secret_on_stdin", scenarioSecretOnStdin},
	{"T3.21_large_output", scenarioLargeOutput},
	{"T3.23_cancel_running", scenarioCancelRunning},
}

// TestScenarios is the event-pipeline acceptance suite (spec §12) in both
// topologies: all roles in one process, and roles split across processes
// over RabbitMQ.
func TestScenarios(t *testing.T) {
	t.Parallel()
	forEachTopology(t, func(t *testing.T, c cluster) {
		for _, sc := range sharedScenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				sc.run(t, c)
			})
		}
	})
}
