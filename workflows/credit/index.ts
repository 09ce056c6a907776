export { CreditApplication } from './credit-application.workflow';
