import { startFailure } from './start-errors';

const port = { variable: 'CHECKERS_PORT', value: 3003 };

describe('startFailure', () => {
  it('gives the port-in-use fix once, with the launcher variable instead of PORT', () => {
    const message = startFailure(
      'checkers',
      'checkers cannot listen on 127.0.0.1:3003 (EADDRINUSE): the address is in use; set PORT to a free port',
      port,
    );
    expect(message).toBe(
      'checkers failed to start: checkers cannot listen on 127.0.0.1:3003 (EADDRINUSE): the address is in use; set CHECKERS_PORT to a free port',
    );
    expect(message.match(/set /g)).toHaveLength(1);
  });

  it('names the port variable for another problem with its address', () => {
    expect(
      startFailure('checkers', 'checkers cannot listen on 127.0.0.1:3003 (EACCES)', port),
    ).toBe(
      'checkers failed to start: checkers cannot listen on 127.0.0.1:3003 (EACCES) (the local stack runs it on CHECKERS_PORT=3003; set that variable to move it)',
    );
  });

  it('leaves errors that are not about the port alone', () => {
    expect(startFailure('classifier', 'MODEL_DIR /x has no model.json', port)).toBe(
      'classifier failed to start: MODEL_DIR /x has no model.json',
    );
  });
});
