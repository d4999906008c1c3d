/**
 * What is missing, with the way to fix it (issue 7): no native host → the command that installs it;
 * no claude.ai tab → a button that opens one.
 */
import { browser } from 'wxt/browser';
import type { OnboardingStep } from './derive';
import { CopyCommand } from './copy-command';

export function Onboarding({ steps }: { steps: OnboardingStep[] }) {
  if (steps.length === 0) return null;
  return (
    <section class="onboarding card" aria-labelledby="onboarding-heading">
      <h2 id="onboarding-heading">Getting started</h2>
      <ol>
        {steps.map((step) => (
          <li key={step.id}>
            <p>{step.text}</p>
            {step.id === 'install-host' ? (
              <CopyCommand command={step.command} label="the command that installs the native host" />
            ) : (
              <button type="button" class="open-claude" onClick={() => void browser.tabs.create({ url: step.url })}>
                Open claude.ai
              </button>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
